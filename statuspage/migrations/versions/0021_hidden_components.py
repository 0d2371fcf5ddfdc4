"""A component can be hidden from every public surface (issue 17): one boolean column, false
for every component there is. Downgrade drops it.

Revision ID: 0021
Revises: 0024
Create Date: 2026-12-04 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0024"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends, as 0015 and 0019: a batch copy of `components` would be
# refused by the foreign keys of the tables that point at it.
def upgrade() -> None:
    op.add_column(
        "components",
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("components", "hidden")
