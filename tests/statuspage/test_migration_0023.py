"""0023: Grafana, events and heartbeat sources. The kind check is widened in place (on SQLite
a table copy would cascade-delete every rule and alert), and narrowed back on downgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect, text
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


async def test_0023_from_0021_takes_every_new_kind(database: Database) -> None:
    await _run(database, _migrate_to, "0021")
    with pytest.raises(IntegrityError, match=r"sourcekind|CHECK"):
        await _run(database, _source, "events", "e" * 64)
    await _run(database, _migrate_to, "head")
    made = [
        await _run(database, _source, kind, kind[0] * 64)
        for kind in ("grafana", "events", "heartbeat")
    ]
    assert len(set(made)) == 3
    with pytest.raises(IntegrityError, match=r"sourcekind|CHECK"):
        await _run(database, _source, "pagerduty", "p" * 64)


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    from statuspage.db import alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _alter_kind_check(connection: Connection) -> None:
    """As another tool or SQLAlchemy version might have written the check: quoted name."""
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, 'kind IN (', '\"kind\" IN (')"
        " WHERE type = 'table' AND name = 'alert_sources'"
    )
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def test_0023_stops_with_a_clear_error_where_the_check_reads_otherwise(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'altered.db'}")
    try:
        with engine.begin() as connection:
            _upgrade(connection, "0021")
            _alter_kind_check(connection)
        refused = (
            r"0023: the kind check of alert_sources is not \"kind IN \('alertmanager'\)\""
            r" as this migration expects, .*; nothing was changed"
        )
        # a new connection reads the altered schema
        with (
            engine.connect() as connection,
            pytest.raises(RuntimeError, match=refused),
            connection.begin(),
        ):
            _upgrade(connection, "head")
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == "0021"
            assert not inspect(connection).has_table("alert_heartbeats")
            with pytest.raises(IntegrityError, match="CHECK"):
                _source(connection, "grafana", "g" * 64)
    finally:
        engine.dispose()
