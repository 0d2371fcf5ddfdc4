"""The platform role: a token-only account that redeems vouchers and looks them up by account.

Widens the CHECK constraint on `staff.role` (named `ck_staff_role` by the naming convention).

On SQLite the table is not copied (batch mode's recreate): with foreign keys on, as they
always are here, dropping the old `staff` table deletes every API token through their
ON DELETE CASCADE and fails on the audit log's RESTRICT, and the pragma cannot be turned off
inside the migration's transaction. Instead the CHECK's text is rewritten in the schema,
SQLite's documented procedure for loosening a constraint: every row that passed the old
check passes the new one, so nothing on disk changes.

The downgrade refuses while platform accounts exist: turning them into another role would
hand a service account powers it never had.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NAME = "ck_staff_role"
_BEFORE = ("support", "finance", "admin")
_AFTER = (*_BEFORE, "platform")


def _condition(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def _sqlite_rewrite(old: str, new: str) -> None:
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'staff'"
    ).scalar_one()
    before, after = f"CONSTRAINT {_NAME} CHECK ({old})", f"CONSTRAINT {_NAME} CHECK ({new})"
    if table_sql.count(before) != 1:
        raise RuntimeError(f"the staff table has no `{before}` to rewrite: {table_sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'staff'",
        (table_sql.replace(before, after),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")  # others reload it
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_condition(old), _condition(new))
        return
    op.drop_constraint(op.f(_NAME), "staff", type_="check")
    op.create_check_constraint(op.f(_NAME), "staff", sa.text(_condition(new)))


def upgrade() -> None:
    _check(_BEFORE, _AFTER)


def downgrade() -> None:
    count = op.get_bind().scalar(sa.text("SELECT count(*) FROM staff WHERE role = 'platform'"))
    if count:
        raise RuntimeError(
            f"{count} staff account(s) have the platform role, which revision 0005 does not "
            "know: give them another role or remove them, then downgrade"
        )
    _check(_AFTER, _BEFORE)
