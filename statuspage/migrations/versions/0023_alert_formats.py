"""Detection's other senders (issue 19): Grafana, the generic event API and heartbeats as
source kinds; a source's Standard Webhooks signing secret; a table of heartbeats (a
heartbeat source's component, its deadlines and its last beat); a draft rule's "publish
if nobody acknowledges within N minutes". Downgrade refuses while a source of a new kind exists.

SQLite cannot alter a CHECK constraint, and copying `alert_sources` to a new table would
drop the old one, which (foreign keys on) cascades to every rule and alert. The kind check
is only widened, so on SQLite its text is edited in place, the procedure SQLite's own
"ALTER TABLE" page gives for changes that leave the stored rows as they are.

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-04 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None

_OLD = ("alertmanager",)
_NEW = ("alertmanager", "grafana", "events", "heartbeat")


def _check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _set_kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint("sourcekind", "alert_sources", type_="check")
        op.create_check_constraint("sourcekind", "alert_sources", _check(new))
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.execute(
            sa.text(
                "UPDATE sqlite_master SET sql = replace(sql, :old, :new)"
                " WHERE type = 'table' AND name = 'alert_sources'"
            ),
            {"old": _check(old), "new": _check(new)},
        )
        _check_edited(bind, _check(old), _check(new))
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    verdict = bind.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if verdict != ["ok"]:
        raise RuntimeError(f"0023: PRAGMA quick_check after editing alert_sources: {verdict}")


def _check_edited(bind: sa.Connection, old: str, new: str) -> None:
    """The edit is a text replacement, which does nothing where the text differs: read it
    back and stop (the transaction rolls back) rather than leave the old check in place."""
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'alert_sources'")
    ).scalar_one()
    if new not in sql:
        raise RuntimeError(
            f"0023: the kind check of alert_sources is not {old!r} as this migration expects,"
            f" so it cannot be edited to {new!r}; nothing was changed. The table reads: {sql}"
        )


def upgrade() -> None:
    _set_kinds(_OLD, _NEW)
    op.add_column("alert_sources", sa.Column("signing_secret", sa.String(100), nullable=True))
    op.add_column("alert_rules", sa.Column("publish_after_minutes", sa.Integer(), nullable=True))
    op.create_table(
        "alert_heartbeats",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("degraded_after_seconds", sa.Integer(), nullable=False),
        sa.Column("down_after_seconds", sa.Integer(), nullable=True),
        sa.Column("last_beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["alert_sources.id"],
            name=op.f("fk_alert_heartbeats_source_id_alert_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_alert_heartbeats_component_id_components"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_alert_heartbeats")),
    )


def downgrade() -> None:
    newer = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM alert_sources WHERE kind != 'alertmanager'"))
        .scalar_one()
    )
    if newer:
        raise RuntimeError(
            f"{newer} alert sources are of a kind 0020 does not know; delete them before"
            " downgrading"
        )
    op.drop_table("alert_heartbeats")
    op.drop_column("alert_rules", "publish_after_minutes")
    op.drop_column("alert_sources", "signing_secret")
    _set_kinds(_NEW, _OLD)
