"""Alerts' intake (issue 19): an index on alerts.updated_at, which the retention sweep and the
staff's alert list order and filter by; the index on hold_until now holds the held alerts only
(over every alert, SQLite's planner took it for the sweep's "hold_until IS NULL" instead); and
the table of the webhook-ids a signed source's calls were accepted with, against replays.
Downgrade drops the table and puts both indexes back as they were.

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-04 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


_HELD = sa.text("hold_until IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "alert_webhook_ids",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["alert_sources.id"],
            name=op.f("fk_alert_webhook_ids_source_id_alert_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "digest", name=op.f("pk_alert_webhook_ids")),
    )
    op.create_index(
        op.f("ix_alert_webhook_ids_received_at"), "alert_webhook_ids", ["received_at"], unique=False
    )
    op.create_index(op.f("ix_alerts_updated_at"), "alerts", ["updated_at"], unique=False)
    op.drop_index(op.f("ix_alerts_hold_until"), table_name="alerts")
    op.create_index(
        op.f("ix_alerts_hold_until"),
        "alerts",
        ["hold_until"],
        unique=False,
        sqlite_where=_HELD,
        postgresql_where=_HELD,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_webhook_ids_received_at"), table_name="alert_webhook_ids")
    op.drop_table("alert_webhook_ids")
    op.drop_index(op.f("ix_alerts_hold_until"), table_name="alerts")
    op.create_index(op.f("ix_alerts_hold_until"), "alerts", ["hold_until"], unique=False)
    op.drop_index(op.f("ix_alerts_updated_at"), table_name="alerts")
