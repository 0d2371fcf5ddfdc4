"""Attempts counted for rate limits (failed console sign-ins, public subscribe requests), in
the database so every instance counts the same attempts; keys are SHA-256 digests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    op.create_index("ix_rate_events_lookup", "rate_events", ["bucket", "key_digest", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_events_lookup", table_name="rate_events")
    op.drop_table("rate_events")
