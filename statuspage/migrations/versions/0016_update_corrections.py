"""Updates remember a correction of their text (edited_at) and corrections of the incident's
components (corrected_component_id: the component a correction took off the incident).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


_FK = "fk_incident_updates_corrected_component_id_components"


@contextmanager
def _keeping_component_changes() -> Iterator[None]:
    """SQLite runs migrations with foreign keys on, and its batch migration copies a table and
    drops the old one: dropping incident_updates deletes every component change with it (ON
    DELETE CASCADE). They are kept aside while the table is copied, and put back, ids and all."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE kept_component_changes AS SELECT * FROM component_changes")
    yield
    if sqlite:
        op.execute("DELETE FROM component_changes")  # whatever the copy's drop left
        op.execute("INSERT INTO component_changes SELECT * FROM kept_component_changes")
        op.execute("DROP TABLE kept_component_changes")


def upgrade() -> None:
    with _keeping_component_changes(), op.batch_alter_table("incident_updates") as batch:
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("corrected_component_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            _FK, "components", ["corrected_component_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with _keeping_component_changes(), op.batch_alter_table("incident_updates") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_column("corrected_component_id")
        batch.drop_column("edited_at")
