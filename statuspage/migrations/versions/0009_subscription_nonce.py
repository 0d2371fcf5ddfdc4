"""Links from emails open only the subscription they were made for: a random nonce per
subscription, signed into every link, and subscription ids never given again.

Before, a link carried only the row's id and token version, SQLite gave a removed row's id to
the next row, and a new row starts at version 1: an old link opened whoever came next.

- `nonce`: random per row (existing rows get one here). Links made from now on carry it.
- `legacy_links`: links already in inboxes carry no nonce. They keep managing and
  unsubscribing the email rows that exist now, unless the audit log shows an earlier row with
  that id was removed (then the id was already given again, and the old links may be the
  earlier holder's). Confirm links made before are refused: the address asks again and gets
  a new one.
- AUTOINCREMENT on SQLite, the sequence starting past every id the audit log has seen. Not by
  batch mode's table copy: with foreign keys on, as they always are here, dropping the old
  table deletes every delivery and component choice through their ON DELETE CASCADE, and the
  pragma cannot be turned off inside the migration's transaction. AUTOINCREMENT changes how
  SQLite picks the next rowid, not a byte of the table, so the declaration is rewritten in the
  schema (as 0006 does) and the sequence row is written. PostgreSQL's sequence never goes back.

Downgrade drops both columns and the AUTOINCREMENT; the older code reads links made since as
id and version, ignoring their nonce, as it did before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEY = "CONSTRAINT pk_subscriptions PRIMARY KEY (id)"
_KEY_AUTOINCREMENT = "CONSTRAINT pk_subscriptions PRIMARY KEY (id AUTOINCREMENT)"


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "subscriptions",
        sa.Column("nonce", sa.String(length=32), server_default="", nullable=False),
    )
    op.add_column(
        "subscriptions",
        sa.Column("legacy_links", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    ids = bind.execute(sa.text("SELECT id FROM subscriptions")).scalars().all()
    if ids:
        bind.execute(
            sa.text("UPDATE subscriptions SET nonce = :nonce WHERE id = :id"),
            [{"id": found, "nonce": secrets.token_urlsafe(16)} for found in ids],
        )
    bind.execute(
        sa.text(
            "UPDATE subscriptions SET legacy_links = :yes WHERE channel = 'email' AND NOT EXISTS"
            " (SELECT 1 FROM audit_log WHERE audit_log.entity_type = 'subscription'"
            " AND audit_log.entity_id = subscriptions.id"
            " AND audit_log.action IN ('subscription.unsubscribe', 'subscription.delete'))"
        ),
        {"yes": True},
    )
    if bind.dialect.name == "sqlite":
        _rewrite_key(_KEY, _KEY_AUTOINCREMENT)
        _start_sequence_past_every_id()
    else:
        op.alter_column("subscriptions", "nonce", server_default=None)
        op.alter_column("subscriptions", "legacy_links", server_default=None)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'subscriptions'")
        _rewrite_key(_KEY_AUTOINCREMENT, _KEY)
        # SQLite's own DROP COLUMN (3.35+): batch mode's copy would cascade, as said above.
        op.execute("ALTER TABLE subscriptions DROP COLUMN legacy_links")
        op.execute("ALTER TABLE subscriptions DROP COLUMN nonce")
        return
    op.drop_column("subscriptions", "legacy_links")
    op.drop_column("subscriptions", "nonce")


def _rewrite_key(old: str, new: str) -> None:
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'subscriptions'"
    ).scalar_one()
    if table_sql.count(old) != 1:
        raise RuntimeError(f"the subscriptions table has no `{old}` to rewrite: {table_sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'subscriptions'",
        (table_sql.replace(old, new),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")  # others reload it
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _start_sequence_past_every_id() -> None:
    """The sequence row AUTOINCREMENT reads: past the highest id in the table and in the
    audit log, so ids of rows removed before this migration are not given again either."""
    bind = op.get_bind()
    # sqlite_sequence exists once any AUTOINCREMENT table has been made; an AUTOINCREMENT
    # declaration without it is a malformed database. A table made and dropped makes it.
    bind.exec_driver_sql("CREATE TABLE _autoincrement_probe (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    bind.exec_driver_sql("DROP TABLE _autoincrement_probe")
    highest = bind.execute(
        sa.text(
            "SELECT max(coalesce((SELECT max(id) FROM subscriptions), 0),"
            " coalesce((SELECT max(entity_id) FROM audit_log"
            " WHERE entity_type = 'subscription'), 0))"
        )
    ).scalar_one()
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'subscriptions'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('subscriptions', :seq)"),
        {"seq": int(highest)},
    )
