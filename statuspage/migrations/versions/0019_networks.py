"""Components that stand for an asset's deposits or withdrawals on one network (issue 18): the
network matrix derives from their status. Three nullable columns and a unique index over them
(rows without a network keep NULLs, which the index lets repeat), and the reason, per language,
of a status set by hand. Downgrade drops them.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_INDEX = "ix_components_network"


# Plain ALTER TABLE on both backends, as 0015: a batch copy of `components` would be refused by
# the foreign keys of the tables that point at it.
def upgrade() -> None:
    op.add_column("components", sa.Column("asset", sa.String(length=16), nullable=True))
    op.add_column("components", sa.Column("network", sa.String(length=32), nullable=True))
    op.add_column(
        "components",
        sa.Column(
            "direction",
            sa.String(length=32),
            sa.CheckConstraint(
                "direction IN ('deposit', 'withdrawal')", name="ck_components_direction"
            ),
            nullable=True,
        ),
    )
    op.add_column("components", sa.Column("manual_reason", sa.JSON(), nullable=True))
    op.create_index(_INDEX, "components", ["asset", "network", "direction"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="components")
    for column in ("manual_reason", "direction", "network", "asset"):
        op.drop_column("components", column)
