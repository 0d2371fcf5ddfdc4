"""0023: Grafana, events and heartbeat sources. The kind check is widened in place (on SQLite
a table copy would cascade-delete every rule and alert), and narrowed back on downgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from statuspage.db import Database
from tests.statuspage.test_migrations import _migrate_to, _run


def _source(connection: Connection, kind: str, digest: str) -> int:
    found = connection.execute(
        text(
            "INSERT INTO alert_sources (name, kind, prefix, digest, paused, storm_limit,"
            " created_at) VALUES ('prod', :kind, 'as_x', :digest, false, 10, CURRENT_TIMESTAMP)"
            " RETURNING id"
        ),
        {"kind": kind, "digest": digest},
    )
    return int(found.scalar_one())


def _with_rule_and_alert(connection: Connection) -> None:
    source_id = _source(connection, "alertmanager", "d" * 64)
    connection.execute(
        text(
            "INSERT INTO components (name, description, translations, position, showcase,"
            " manual_status, status, created_at, updated_at) VALUES ('ETH', '', '{}', 0, true,"
            " 'operational', 'operational', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    )
    component_id = connection.execute(text("SELECT max(id) FROM components")).scalar_one()
    connection.execute(
        text(
            "INSERT INTO alert_rules (source_id, matchers, component_id, component_status,"
            " policy, resolve_automatically, debounce_seconds, language, texts, position,"
            " created_at) VALUES (:source, '{}', :component, 'major_outage', 'announce', false,"
            " 0, 'en', '{}', 0, CURRENT_TIMESTAMP)"
        ),
        {"source": source_id, "component": component_id},
    )
    connection.execute(
        text(
            "INSERT INTO alerts (source_id, fingerprint, state, labels, annotations, decision,"
            " received_at, updated_at) VALUES (:source, 'f1', 'firing', '{}', '{}', 'unmatched',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"source": source_id},
    )


def _counts(connection: Connection) -> tuple[int, int, bool]:
    rules = connection.execute(text("SELECT count(*) FROM alert_rules")).scalar_one()
    alerts = connection.execute(text("SELECT count(*) FROM alerts")).scalar_one()
    return rules, alerts, inspect(connection).has_table("alert_heartbeats")


async def test_0023_widens_and_narrows_the_kinds_keeping_every_rule_and_alert(
    database: Database,
) -> None:
    await _run(database, _with_rule_and_alert)
    await _run(database, _migrate_to, "0020")
    assert await _run(database, _counts) == (1, 1, False)
    with pytest.raises(IntegrityError, match=r"sourcekind|CHECK"):
        await _run(database, _source, "grafana", "e" * 64)
    await _run(database, _migrate_to, "head")
    assert await _run(database, _counts) == (1, 1, True)
    assert await _run(database, _source, "grafana", "e" * 64) > 0


async def test_0023_downgrade_refuses_while_a_source_of_a_new_kind_exists(
    database: Database,
) -> None:
    await _run(database, _source, "heartbeat", "h" * 64)
    with pytest.raises(RuntimeError, match="1 alert sources are of a kind 0020 does not know"):
        await _run(database, _migrate_to, "0020")
