"""The console's language each staff member chose (None: their browser's Accept-Language).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends (SQLite has had DROP COLUMN since 3.35): a batch
# migration would copy and drop `staff`, which the other tables' foreign keys refuse.
def upgrade() -> None:
    op.add_column("staff", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("staff", "language")
