"""The events an intake left out, each with its reason (issue 17, item 7): valid lines outside
the batch's scope (an event kind, an asset or a component the policy does not cover, or a time
outside the impact windows and their grace). Before, they were only counted; intakes taken
before this migration keep their count and have no lines to list. Downgrade drops the table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compensation_left_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "kind",
                "asset",
                "component",
                "time",
                name="leftout",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_compensation_left_out_batch_id_compensation_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_left_out")),
    )
    with op.batch_alter_table("compensation_left_out") as batch:
        batch.create_index(batch.f("ix_compensation_left_out_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("compensation_left_out") as batch:
        batch.drop_index(batch.f("ix_compensation_left_out_batch_id"))
    op.drop_table("compensation_left_out")
