"""Updates remember a correction of their text (edited_at) and corrections of the incident's
components (corrected_component_id: the component a correction took off the incident).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_updates") as batch:
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("corrected_component_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_incident_updates_corrected_component_id_components",
            "components",
            ["corrected_component_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_updates") as batch:
        batch.drop_constraint(
            "fk_incident_updates_corrected_component_id_components", type_="foreignkey"
        )
        batch.drop_column("corrected_component_id")
        batch.drop_column("edited_at")
