"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

import incidents.audit
import incidents.broadcast_models
import incidents.publication
import incidents.staff  # noqa: F401  (registers the tables)
from incidents.models import Base
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

    from incidents.models import Component
    from incidents.staff import Staff, StaffRole

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
    from incidents.models import Component
    from incidents.staff import Staff, StaffRole

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
