"""Recurring maintenance (issue 18): a series (an RFC 5545 RRULE, a duration and the zone it is
read in) with its components, and on each maintenance the series it is an occurrence of and the
start its rule gave it, unique together. Downgrade drops them.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-04 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

_INDEX = "ix_maintenances_series_occurrence"


def upgrade() -> None:
    op.create_table(
        "maintenance_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("first_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("auto_start", sa.Boolean(), nullable=False),
        sa.Column("auto_complete", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "cancelled",
                name="seriesstatus",
                native_enum=False,
                length=32,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name="fk_maintenance_series_created_by_staff",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_series"),
    )
    op.create_index("ix_maintenance_series_status", "maintenance_series", ["status"], unique=False)
    op.create_table(
        "maintenance_series_components",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["maintenance_series.id"],
            name="fk_maintenance_series_components_series_id_maintenance_series",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name="fk_maintenance_series_components_component_id_components",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "series_id", "component_id", name="pk_maintenance_series_components"
        ),
    )
    # Plain ALTER TABLE on both backends: `maintenances` is pointed at with ON DELETE CASCADE,
    # so a batch copy is out, and SQLite cannot ALTER a foreign key in. The column has none:
    # series are never deleted (only cancelled), and only the series flows set it.
    op.add_column("maintenances", sa.Column("series_id", sa.Integer(), nullable=True))
    op.add_column(
        "maintenances", sa.Column("occurrence_start", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(_INDEX, "maintenances", ["series_id", "occurrence_start"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="maintenances")
    op.drop_column("maintenances", "occurrence_start")
    op.drop_column("maintenances", "series_id")
    op.drop_table("maintenance_series_components")
    op.drop_index("ix_maintenance_series_status", table_name="maintenance_series")
    op.drop_table("maintenance_series")
