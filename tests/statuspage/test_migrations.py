"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from incidents.common.db_types import Base
from statuspage.db import Database


def _ours(_object: Any, name: str | None, type_: str, _reflected: bool, _compare: Any) -> bool:
    # APScheduler's job table is made by our migration in its own shape, not by a model.
    return not (type_ == "table" and name == "apscheduler_jobs")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _ours}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.engine.execution_options(sqlite_deferred=True).connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_times_come_back_in_utc(database: Database) -> None:
    from datetime import datetime, timedelta, timezone

    from incidents.common.staff import Staff, StaffRole
    from incidents.models import Component

    shanghai = timezone(timedelta(hours=8))
    async with database.sessionmaker() as session, session.begin():
        staff = Staff(
            email="tz@example.com",
            name="TZ",
            role=StaffRole.support,
            created_at=datetime(2026, 3, 1, 18, 0, tzinfo=shanghai),
        )
        session.add(staff)
        session.add(Component(name="x"))
    async with database.sessionmaker() as session:
        loaded = await session.get(Staff, staff.id, populate_existing=True)
        assert loaded is not None
        assert loaded.created_at.isoformat() == "2026-03-01T10:00:00+00:00"


async def test_public_changes_bump_the_version_and_staff_changes_do_not(database: Database) -> None:
    from incidents import publication
    from incidents.common.staff import Staff, StaffRole
    from incidents.models import Component

    async with database.sessionmaker() as session:
        start, _ = await publication.current(session)
    async with database.sessionmaker() as session, session.begin():
        session.add(Staff(email="v@example.com", name="V", role=StaffRole.support))
    async with database.sessionmaker() as session:
        assert (await publication.current(session))[0] == start
    async with database.sessionmaker() as session, session.begin():
        session.add(Component(name="BTC deposits"))
    async with database.sessionmaker() as session:
        version, changed_at = await publication.current(session)
    assert version == start + 1
    assert changed_at.tzinfo is not None


# -- 0006: the platform role ---------------------------------------------------------------


def _migrate_to(connection: Connection, revision: str) -> None:
    from alembic import command

    from statuspage.db import alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    if revision == "head":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def _run(database: Database, work: Any, *args: Any) -> Any:
    """Runs `work(connection, *args)` in the test's own transaction (DDL included, on both
    backends), so the shared migrated schema is back to head when the test ends."""
    async with database.sessionmaker() as session, session.begin():
        connection = await session.connection()
        return await connection.run_sync(work, *args)


def _insert_staff_with_token_and_audit(connection: Connection) -> None:
    from sqlalchemy import text

    connection.execute(
        text(
            "INSERT INTO staff (email, name, role, active, created_at, session_version)"
            " VALUES ('fin@example.com', 'Fin', 'finance', true, '2026-03-01 10:00:00', 0)"
        )
    )
    staff_id = connection.execute(text("SELECT id FROM staff")).scalar_one()
    connection.execute(
        text(
            "INSERT INTO api_tokens (staff_id, name, prefix, digest, created_at)"
            " VALUES (:id, 'platform', 'sp_abcdefg', :digest, '2026-03-01 10:00:00')"
        ),
        {"id": staff_id, "digest": "0" * 64},
    )
    connection.execute(
        text(
            "INSERT INTO audit_log (actor_id, action, entity_type, entity_id, at)"
            " VALUES (:id, 'staff.create', 'staff', :id, '2026-03-01 10:00:00')"
        ),
        {"id": staff_id},
    )


def _rows(connection: Connection) -> tuple[list[Any], int, int]:
    from sqlalchemy import text

    staff = connection.execute(text("SELECT email, role FROM staff ORDER BY id")).all()
    tokens = connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    audits = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    return [tuple(row) for row in staff], tokens, audits


def _insert_platform(connection: Connection) -> None:
    from sqlalchemy import text

    with connection.begin_nested():
        connection.execute(
            text(
                "INSERT INTO staff (email, name, role, active, created_at, session_version)"
                " VALUES ('exchange@example.com', 'Exchange', 'platform', true,"
                " '2026-03-01 10:00:00', 0)"
            )
        )


async def test_0006_keeps_staff_and_tokens_and_takes_the_platform_role(
    database: Database,
) -> None:
    from sqlalchemy.exc import IntegrityError

    await _run(database, _migrate_to, "0005")
    await _run(database, _insert_staff_with_token_and_audit)
    with pytest.raises(IntegrityError, match="ck_staff_role"):
        await _run(database, _insert_platform)
    await _run(database, _migrate_to, "head")
    assert await _run(database, _rows) == ([("fin@example.com", "finance")], 1, 1)
    await _run(database, _insert_platform)
    staff, tokens, audits = await _run(database, _rows)
    assert staff == [("fin@example.com", "finance"), ("exchange@example.com", "platform")]
    assert (tokens, audits) == (1, 1)


async def test_0006_downgrade_refuses_while_platform_accounts_exist(database: Database) -> None:
    from sqlalchemy import text

    await _run(database, _insert_platform)
    with pytest.raises(RuntimeError, match=r"1 staff account\(s\) have the platform role"):
        await _run(database, _migrate_to, "0005")

    def retire(connection: Connection) -> None:
        connection.execute(text("UPDATE staff SET role = 'support' WHERE role = 'platform'"))

    await _run(database, retire)
    await _run(database, _migrate_to, "0005")
    assert (await _run(database, _rows))[0] == [("exchange@example.com", "support")]
    await _run(database, _migrate_to, "head")


# -- 0010: console sessions kept on the server -----------------------------------------------


def _has_sessions_table(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return inspect(connection).has_table("staff_sessions")


async def test_0010_adds_the_sessions_table_and_takes_it_away(database: Database) -> None:
    assert await _run(database, _has_sessions_table)
    await _run(database, _migrate_to, "0010-1")
    assert not await _run(database, _has_sessions_table)
    await _run(database, _insert_staff_with_token_and_audit)  # staff rows do not hold it back
    await _run(database, _migrate_to, "head")
    assert await _run(database, _has_sessions_table)
