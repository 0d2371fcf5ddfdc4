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

- Email addresses in lower case, as the code now stores and looks them up (one inbox, one
  subscriber). Rows that differ only in letter case are merged into one: the first of them
  that is confirmed and enabled (else confirmed, else the oldest) stays, following every
  component any of the confirmed, enabled ones followed; the others are removed (their
  deliveries go with them) and audited as `subscription.merge`. Links sent to a removed row
  open nothing; the inbox keeps hearing from the row that stays, whose links work.

Downgrade drops both columns and the AUTOINCREMENT; the older code reads links made since as
id and version, ignoring their nonce, as it did before. Merged rows stay merged, addresses
stay in lower case.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

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
    _merge_letter_cases()
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


_audit = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("action", sa.String),
    sa.column("entity_type", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def _merge_letter_cases() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, address, confirmed_at, disabled_at, all_components FROM subscriptions"
            " WHERE channel = 'email' ORDER BY id"
        )
    ).all()
    same: dict[str, list[Any]] = {}
    for row in rows:
        same.setdefault(row.address.strip().lower(), []).append(row)
    for address, group in same.items():
        kept = min(group, key=lambda row: (not _delivering(row), row.confirmed_at is None, row.id))
        others = [row for row in group if row.id != kept.id]
        if others:
            _merge_into(kept, others, [row for row in group if _delivering(row)])
        if kept.address != address:
            bind.execute(
                sa.text("UPDATE subscriptions SET address = :address WHERE id = :id"),
                {"address": address, "id": kept.id},
            )


def _delivering(row: Any) -> bool:
    return row.confirmed_at is not None and row.disabled_at is None


def _merge_into(kept: Any, others: list[Any], delivering: list[Any]) -> None:
    """`kept` follows every component a delivering row followed; `others` are removed."""
    bind = op.get_bind()
    if any(row.id == kept.id for row in delivering):
        if any(row.all_components for row in delivering):
            bind.execute(
                sa.text("UPDATE subscriptions SET all_components = :yes WHERE id = :kept"),
                {"yes": True, "kept": kept.id},
            )
            bind.execute(
                sa.text("DELETE FROM subscription_components WHERE subscription_id = :kept"),
                {"kept": kept.id},
            )
        else:
            _add_components(kept.id, [row.id for row in delivering])
    bind.execute(
        sa.text("DELETE FROM subscriptions WHERE id IN :others").bindparams(
            sa.bindparam("others", expanding=True)
        ),
        {"others": [row.id for row in others]},
    )
    now = datetime.now(UTC)
    bind.execute(
        _audit.insert(),
        [
            {
                "at": now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now,
                "action": "subscription.merge",
                "entity_type": "subscription",
                "entity_id": row.id,
                "before": {
                    "channel": "email",
                    "confirmed": row.confirmed_at is not None,
                    "disabled": row.disabled_at is not None,
                },
                "after": {"merged_into": kept.id},
            }
            for row in others
        ],
    )


def _add_components(kept: int, sources: list[int]) -> None:
    bind = op.get_bind()
    missing = bind.execute(
        sa.text(
            "SELECT DISTINCT component_id FROM subscription_components"
            " WHERE subscription_id IN :sources AND component_id NOT IN"
            " (SELECT component_id FROM subscription_components WHERE subscription_id = :kept)"
        ).bindparams(sa.bindparam("sources", expanding=True)),
        {"sources": sources, "kept": kept},
    ).scalars()
    for component_id in missing.all():
        bind.execute(
            sa.text(
                "INSERT INTO subscription_components (subscription_id, component_id)"
                " VALUES (:kept, :component)"
            ),
            {"kept": kept, "component": component_id},
        )
