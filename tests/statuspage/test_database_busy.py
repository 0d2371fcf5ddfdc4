"""While another transaction holds what a write needs (SQLite's write lock past its busy
timeout, a PostgreSQL table lock past lock_timeout), staff writes answer 503 with Retry-After
in the documented error shape, the console says so on a page, and staff reads go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text

from incidents.common.db_types import utcnow
from incidents.common.staff import ApiToken, StaffRole
from statuspage.access import tokens
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database, connect, lock_wait_exceeded
from tests.conftest import Fresh
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

WAIT_MS = 200  # how long the app's connections wait for a lock here (10 s in production)
BUSY = {
    "error": {
        "code": "database_busy",
        "message": "the database is busy with another write; try again in a few seconds",
        "field": None,
    }
}


def _impatient(url: str) -> Database:
    """The app's handle on the database, waiting WAIT_MS for a lock instead of 10 s."""
    database = connect(url)
    sqlite = database.dialect == "sqlite"

    def wait_briefly(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(
            f"PRAGMA busy_timeout={WAIT_MS}" if sqlite else f"SET lock_timeout={WAIT_MS}"
        )
        cursor.close()

    event.listen(database.engine.sync_engine, "connect", wait_briefly)
    return database


@asynccontextmanager
async def _writes_locked(database: Database) -> AsyncIterator[None]:
    """Another connection holds, until the block ends, what every write needs: SQLite's write
    lock (its BEGIN IMMEDIATE), or every PostgreSQL table in EXCLUSIVE mode (reads go on)."""
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        if database.dialect == "postgresql":
            names = await connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            await connection.execute(text(f"LOCK TABLE {', '.join(names)} IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await transaction.rollback()


@asynccontextmanager
async def _client(settings: Settings, fresh: Fresh) -> AsyncIterator[httpx.AsyncClient]:
    database = _impatient(fresh.url)
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.running.cache.close()
        await database.dispose()


async def _token(fresh: Fresh, role: StaffRole = StaffRole.support) -> dict[str, str]:
    async with fresh.database.sessionmaker() as session, session.begin():
        staff = await tokens.create_staff(
            session, email=f"{role.value}@example.com", name="Sam", role=role, actor_id=None
        )
        _, plain = await tokens.create_token(session, staff=staff, name="tests", actor_id=None)
    return {"Authorization": f"Bearer {plain}"}


async def _last_used(fresh: Fresh) -> datetime | None:
    async with fresh.database.reading() as session:
        return await session.scalar(select(ApiToken.last_used_at))


async def test_a_staff_write_answers_503_with_retry_after_while_the_lock_is_held(
    settings: Settings, fresh: Fresh
) -> None:
    support = await _token(fresh)
    async with _client(settings, fresh) as client:
        async with _writes_locked(fresh.database):
            busy = await client.post(
                "/api/staff/components", json={"name": "ETH wallet"}, headers=support
            )
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "5"
        assert busy.headers["content-type"] == "application/json"
        assert busy.json() == BUSY
        made = await client.post(
            "/api/staff/components", json={"name": "ETH wallet"}, headers=support
        )
        assert made.status_code == 201, made.text
        listed = await client.get("/api/staff/components", headers=support)
    assert [component["name"] for component in listed.json()] == ["ETH wallet"]


async def test_staff_reads_go_on_while_the_lock_is_held(settings: Settings, fresh: Fresh) -> None:
    support = await _token(fresh)
    async with _client(settings, fresh) as client:
        made = await client.post(
            "/api/staff/components", json={"name": "ETH wallet"}, headers=support
        )
        assert made.status_code == 201, made.text
        async with _writes_locked(fresh.database):
            listed = await client.get("/api/staff/components", headers=support)
            one = await client.get(f"/api/staff/components/{made.json()['id']}", headers=support)
            me = await client.get("/api/staff/me", headers=support)
    assert listed.status_code == 200, listed.text
    assert [component["name"] for component in listed.json()] == ["ETH wallet"]
    assert one.json()["name"] == "ETH wallet"
    assert me.json()["email"] == "support@example.com"


async def test_a_read_answers_even_when_its_tokens_last_use_cannot_be_recorded(
    settings: Settings, fresh: Fresh
) -> None:
    """A token's last use is recorded after the answer, and given up while the database is
    busy; the next read records it."""
    support = await _token(fresh)
    async with _client(settings, fresh) as client:
        async with _writes_locked(fresh.database):
            listed = await client.get("/api/staff/components", headers=support)
        assert listed.status_code == 200, listed.text
        assert listed.json() == []
        assert await _last_used(fresh) is None
        before = utcnow()
        again = await client.get("/api/staff/components", headers=support)
        after = utcnow()
    assert again.status_code == 200, again.text
    used = await _last_used(fresh)
    assert used is not None
    assert before <= used <= after


async def test_the_console_says_the_database_is_busy_and_its_pages_still_show(
    settings: Settings, fresh: Fresh
) -> None:
    admin_id = await add_staff(fresh.database, StaffRole.admin, "admin@example.com")
    async with _client(settings, fresh) as client:
        assert (await sign_in(client, "admin@example.com")).status_code == 303
        async with _writes_locked(fresh.database):
            page = await client.get("/staff/admin/tokens")
            busy = await client.post(
                "/staff/admin/tokens",
                data={"csrf": csrf_of(page.text), "staff_id": str(admin_id), "name": "deploy"},
            )
    assert page.status_code == 200, page.text
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "5"
    assert "<h1>The database is busy</h1>" in busy.text
    assert "Nothing was saved." in busy.text


async def test_public_pages_that_read_the_database_answer_while_the_lock_is_held(
    settings: Settings, fresh: Fresh
) -> None:
    """An incident not among the current ones, and the history, are read from the database
    when first asked for: in a read transaction, which does not wait for the write lock."""
    async with _client(settings, fresh) as client:
        await client.get("/")  # the current state, loaded before the lock
        async with _writes_locked(fresh.database):
            unknown = await client.get("/incidents/abcd1234")
            history = await client.get("/history")
    assert unknown.status_code == 404, unknown.text
    assert history.status_code == 200, history.text


async def _deadlocked_or_locked(fresh: Fresh) -> BaseException:
    """A real error of a write the database gave up on: two PostgreSQL transactions taking
    two rows in opposite orders (one of them is chosen as the deadlock's victim), or SQLite's
    write lock held past a short busy timeout."""
    # PostgreSQL waits for the lock itself here (no lock_timeout): the deadlock is what ends it
    database = _impatient(fresh.url) if fresh.url.startswith("sqlite") else connect(fresh.url)
    try:
        async with database.engine.connect() as first, database.engine.connect() as second:
            await first.begin()
            if database.dialect == "sqlite":  # the first holds the write lock (BEGIN IMMEDIATE)
                try:
                    await second.begin()
                except Exception as error:  # the error is what is tested
                    return error
                raise AssertionError("the second writer was not refused")
            await second.begin()
            bump = "UPDATE site_state SET version = version + 1 WHERE id = :id"
            other_row = "INSERT INTO site_state (id, version, changed_at) VALUES (99, 0, now())"
            await first.execute(text(other_row))
            await first.commit()
            await first.begin()
            await first.execute(text(bump), {"id": 1})
            await second.execute(text(bump), {"id": 99})
            found = await asyncio.gather(
                first.execute(text(bump), {"id": 99}),
                second.execute(text(bump), {"id": 1}),
                return_exceptions=True,
            )
            errors = [item for item in found if isinstance(item, BaseException)]
            assert len(errors) == 1, found  # PostgreSQL broke the deadlock by failing one
            return errors[0]
    finally:
        await database.dispose()


async def test_a_write_the_database_gave_up_on_is_one_to_try_again(fresh: Fresh) -> None:
    """A deadlock (PostgreSQL's 40P01: several alert calls written in one transaction, by
    group commit, against a staff write or another instance) is answered like a lock wait
    past its limit, 503 with Retry-After, not a 500: the transaction saved nothing."""
    error = await _deadlocked_or_locked(fresh)
    assert lock_wait_exceeded(error), repr(error)


async def test_a_deadlock_is_logged_for_the_operator_as_it_is_answered_503(
    fresh: Fresh, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock wait past its limit is routine (busy); a deadlock is a lock-order bug worth a
    look: both answer 503 with Retry-After, and only the deadlock is logged."""
    from starlette.requests import Request

    from statuspage.app import database_error

    error = await _deadlocked_or_locked(fresh)
    request = Request({"type": "http", "method": "POST", "path": "/api/alerts/events/x",
                       "headers": [], "query_string": b""})  # fmt: skip
    assert isinstance(error, Exception)
    with caplog.at_level("WARNING", logger="statuspage.app"):
        answer = await database_error(request, error)
    assert answer.status_code == 503 and answer.headers["retry-after"]
    deadlock = fresh.url.startswith("postgresql")
    assert ("40P01 on POST /api/alerts/events/x" in caplog.text) == deadlock
