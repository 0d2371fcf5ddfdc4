"""0025: the index the alerts' retention sweep and list go by, dropped on downgrade with every
alert kept."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from statuspage.db import Database
from tests.statuspage.test_migration_0023 import _with_rule_and_alert
from tests.statuspage.test_migrations import _migrate_to, _run


def _alert_indexes(connection: Connection) -> list[str]:
    found = (str(index["name"]) for index in inspect(connection).get_indexes("alerts"))
    return sorted(name for name in found if name.startswith("ix_"))


def _alerts(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM alerts")).scalar_one())


def _sweep_plan(connection: Connection) -> str:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
        found = connection.execute(
            text("EXPLAIN DELETE FROM alerts WHERE updated_at < now() AND hold_until IS NULL")
        )
    else:
        found = connection.execute(
            text(
                "EXPLAIN QUERY PLAN DELETE FROM alerts"
                " WHERE updated_at < '2026-01-01' AND hold_until IS NULL"
            )
        )
    return " ".join(str(row[-1]) for row in found)


async def test_0025_indexes_alerts_by_their_last_update_and_downgrade_drops_it(
    database: Database,
) -> None:
    await _run(database, _with_rule_and_alert)
    assert await _run(database, _alert_indexes) == [
        "ix_alerts_hold_until",
        "ix_alerts_updated_at",
    ]
    assert "ix_alerts_updated_at" in await _run(database, _sweep_plan)
    await _run(database, _migrate_to, "0023")
    assert await _run(database, _alert_indexes) == ["ix_alerts_hold_until"]
    assert await _run(database, _alerts) == 1
    await _run(database, _migrate_to, "head")
    assert await _run(database, _alert_indexes) == [
        "ix_alerts_hold_until",
        "ix_alerts_updated_at",
    ]


def _due_holds_plan(connection: Connection) -> str:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        found = connection.execute(text("EXPLAIN SELECT id FROM alerts WHERE hold_until <= now()"))
    else:
        found = connection.execute(
            text("EXPLAIN QUERY PLAN SELECT id FROM alerts WHERE hold_until <= '2026-01-01'")
        )
    return " ".join(str(row[-1]) for row in found)


async def test_the_due_holds_still_go_by_their_index(database: Database) -> None:
    assert "ix_alerts_hold_until" in await _run(database, _due_holds_plan)
