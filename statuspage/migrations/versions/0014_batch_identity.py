"""Who prepared each batch (four eyes), one live batch per incident and policy, and an identity
for every event a batch takes.

- `compensation_contributors`: who drafted a batch, loaded or cleared its intake, refreshed its
  policy; none of them may approve it. Filled for existing batches from `created_by` and the
  audit log, which has recorded every one of those actions since 0004.
- `uq_compensation_batches_live`: a partial unique index on (incident_id, policy_id) over the
  batches not cancelled (both backends have partial indexes). Concurrent drafts on PostgreSQL
  could make several; before the index, every extra *draft* is cancelled (audited, as the
  system) in favour of the one batch past draft, or the oldest draft. Two or more past draft
  (approved, issuing, issued, delivered) cannot be settled here: the upgrade stops and names
  them, to cancel all but one first.
- `compensation_event_identities`: the identity of every event a batch has summed (the
  platform's event_id, or a digest of the event as read), unique per batch, so the same
  event sent again is reported as repeated, not summed. The events of earlier intakes were
  summed, never kept, so their identities cannot be computed here: each source of a draft
  that took events is marked `"identified": false`, and such a draft takes no more events
  until its intake is cleared and loaded again (pasted accounts need no identity). Downgrade
  drops the table and the marks.

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_CONTRIBUTIONS = (
    "created",
    "loaded_accounts",
    "loaded_events",
    "cleared_intake",
    "refreshed_policy",
)
_BY_ACTION = {
    "compensation.batch.clear_intake": "cleared_intake",
    "compensation.batch.refresh_policy": "refreshed_policy",
}


def _contributors_table() -> None:
    op.create_table(
        "compensation_contributors",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column(
            "contribution",
            sa.Enum(
                *_CONTRIBUTIONS,
                name="contribution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_compensation_contributors_batch_id_compensation_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_compensation_contributors_staff_id_staff"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "staff_id", "contribution", name=op.f("pk_compensation_contributors")
        ),
    )


def _contributors_from_history() -> None:
    """Who drafted each batch, then who loaded, cleared or refreshed it, by the audit log."""
    bind = op.get_bind()
    batches = sa.table(
        "compensation_batches", sa.column("id"), sa.column("created_by"), sa.column("created_at")
    )
    audit = sa.table(
        "audit_log",
        sa.column("id"),
        sa.column("actor_id"),
        sa.column("action"),
        sa.column("entity_type"),
        sa.column("entity_id"),
        sa.column("after", sa.JSON()),
        sa.column("at"),
    )
    found: dict[tuple[int, int, str], Any] = {}
    for batch_id, staff_id, at in bind.execute(sa.select(batches).order_by(batches.c.id)):
        found[(batch_id, staff_id, "created")] = at
    actions = ["compensation.batch.intake", *_BY_ACTION]
    rows = bind.execute(
        sa.select(audit.c.entity_id, audit.c.actor_id, audit.c.action, audit.c.after, audit.c.at)
        .where(
            audit.c.entity_type == "compensation_batch",
            audit.c.action.in_(actions),
            audit.c.actor_id.is_not(None),
        )
        .order_by(audit.c.id)
    )
    for batch_id, staff_id, action, after, at in rows:
        if action == "compensation.batch.intake":
            pasted = (after or {}).get("source") == "pasted accounts"
            contribution = "loaded_accounts" if pasted else "loaded_events"
        else:
            contribution = _BY_ACTION[action]
        found.setdefault((batch_id, staff_id, contribution), at)
    if found:
        contributors = sa.table(
            "compensation_contributors",
            sa.column("batch_id"),
            sa.column("staff_id"),
            sa.column("contribution"),
            sa.column("at"),
        )
        bind.execute(
            contributors.insert(),
            [
                {"batch_id": batch, "staff_id": staff, "contribution": what, "at": at}
                for (batch, staff, what), at in found.items()
            ],
        )


_LIVE = "state != 'cancelled'"


def _batches() -> Any:
    return sa.table(
        "compensation_batches",
        sa.column("id"),
        sa.column("incident_id"),
        sa.column("policy_id"),
        sa.column("state"),
        sa.column("cancelled_at", sa.DateTime(timezone=True)),
        sa.column("cancel_reason"),
        sa.column("intake", sa.JSON()),
    )


def _now() -> datetime:
    now = datetime.now(UTC)
    # SQLite keeps UTC without an offset, as UTCDateTime does
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now


def _one_live_batch_each() -> None:
    bind = op.get_bind()
    batches = _batches()
    groups: dict[tuple[int, int], list[tuple[int, str]]] = {}
    live = sa.select(batches.c.incident_id, batches.c.policy_id, batches.c.id, batches.c.state)
    for incident_id, policy_id, batch_id, state in bind.execute(
        live.where(batches.c.state != "cancelled").order_by(batches.c.id)
    ):
        groups.setdefault((incident_id, policy_id), []).append((batch_id, state))
    for (incident_id, policy_id), found in groups.items():
        if len(found) > 1:
            _settle(incident_id, policy_id, found)


def _settle(incident_id: int, policy_id: int, found: list[tuple[int, str]]) -> None:
    past_draft = [batch_id for batch_id, state in found if state != "draft"]
    if len(past_draft) > 1:
        raise RuntimeError(
            f"incident {incident_id} has {len(past_draft)} live batches past draft under policy "
            f"{policy_id} (batches {', '.join(map(str, past_draft))}): cancel all but one "
            "(POST /api/staff/compensation/batches/{id}/cancel) and migrate again"
        )
    kept = past_draft[0] if past_draft else found[0][0]
    reason = f"a second live batch for this incident and policy; batch {kept} is kept (0014)"
    batches, now = _batches(), _now()
    audit = sa.table(
        "audit_log",
        sa.column("actor_id"),
        sa.column("action"),
        sa.column("entity_type"),
        sa.column("entity_id"),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    for batch_id, _ in found:
        if batch_id == kept:
            continue
        op.get_bind().execute(
            batches.update()
            .where(batches.c.id == batch_id)
            .values(state="cancelled", cancelled_at=now, cancel_reason=reason)
        )
        op.get_bind().execute(
            audit.insert().values(
                actor_id=None,
                action="compensation.batch.cancel",
                entity_type="compensation_batch",
                entity_id=batch_id,
                before={"state": "draft"},
                after={"state": "cancelled", "reason": reason},
                at=now,
            )
        )


def _live_index() -> None:
    op.create_index(
        "uq_compensation_batches_live",
        "compensation_batches",
        ["incident_id", "policy_id"],
        unique=True,
        postgresql_where=sa.text(_LIVE),
        sqlite_where=sa.text(_LIVE),
    )


def _identities_table() -> None:
    op.create_table(
        "compensation_event_identities",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.LargeBinary(length=16), nullable=False),
        sa.Column("source", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_compensation_event_identities_batch_id_compensation_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "identity", name=op.f("pk_compensation_event_identities")
        ),
    )


def _took_events(source: dict[str, Any]) -> bool:
    return not (source.get("source") == "pasted accounts" and source.get("sha256") is None)


def _mark_drafts(mark: bool) -> None:
    """Marks (or unmarks) the sources of drafts whose events have no identities."""
    bind, batches = op.get_bind(), _batches()
    drafts = sa.select(batches.c.id, batches.c.intake).where(batches.c.state == "draft")
    for batch_id, intake in bind.execute(drafts).all():
        sources = (intake or {}).get("sources", [])
        if mark:
            changed = [
                {**source, "identified": False} if _took_events(source) else source
                for source in sources
            ]
        else:
            changed = [
                {name: value for name, value in source.items() if name != "identified"}
                for source in sources
            ]
        if changed != sources:
            bind.execute(
                batches.update()
                .where(batches.c.id == batch_id)
                .values(intake={**intake, "sources": changed})
            )


def upgrade() -> None:
    _contributors_table()
    _contributors_from_history()
    _one_live_batch_each()
    _live_index()
    _identities_table()
    _mark_drafts(True)


def downgrade() -> None:
    _mark_drafts(False)
    op.drop_table("compensation_event_identities")
    op.drop_index("uq_compensation_batches_live", table_name="compensation_batches")
    op.drop_table("compensation_contributors")
