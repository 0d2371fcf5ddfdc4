"""Who prepared each batch (four eyes), one live batch per incident and policy, and an identity
for every event a batch takes.

- `compensation_contributors`: who drafted a batch, loaded or cleared its intake, refreshed its
  policy; none of them may approve it. Filled for existing batches from `created_by` and the
  audit log, which has recorded every one of those actions since 0004.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
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


def upgrade() -> None:
    _contributors_table()
    _contributors_from_history()


def downgrade() -> None:
    op.drop_table("compensation_contributors")
