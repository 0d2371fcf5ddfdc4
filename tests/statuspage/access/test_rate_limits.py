"""Rate windows: an attempt is reserved before it is made, in every window or in none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from statuspage.access import rate_limits
from statuspage.access.rate_limits import Full, RateEvent, Reserved, Window
from statuspage.db import Database
from tests.conftest import Fresh

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TWO = Window("test_two", 2, 60.0)
THREE = Window("test_three", 3, 60.0)


async def _reserve(
    database: Database, *attempts: tuple[Window, str], now: datetime = NOW
) -> Reserved | Full:
    async with database.sessionmaker() as session, session.begin():
        return await rate_limits.reserve(session, list(attempts), now=now)


async def _rows(database: Database, window: Window) -> int:
    async with database.reading() as session:
        query = select(func.count()).where(RateEvent.bucket == window.bucket)
        return int(await session.scalar(query) or 0)


async def test_a_full_window_counts_the_attempt_nowhere(database: Database) -> None:
    for _ in range(2):
        assert isinstance(await _reserve(database, (THREE, "a"), (TWO, "a")), Reserved)
    later = NOW + timedelta(seconds=15)
    refused = await _reserve(database, (THREE, "a"), (TWO, "a"), now=later)
    assert refused == Full(TWO, 45.0)
    assert (await _rows(database, THREE), await _rows(database, TWO)) == (2, 2)
    assert isinstance(await _reserve(database, (THREE, "a"), (TWO, "b"), now=later), Reserved)
    after_the_window = NOW + timedelta(seconds=61)
    assert isinstance(await _reserve(database, (TWO, "a"), now=after_the_window), Reserved)


async def test_a_refund_gives_the_place_back(database: Database) -> None:
    first = await _reserve(database, (TWO, "a"))
    assert isinstance(first, Reserved)
    assert isinstance(await _reserve(database, (TWO, "a")), Reserved)
    async with database.sessionmaker() as session, session.begin():
        await rate_limits.refund(session, first)
    assert isinstance(await _reserve(database, (TWO, "a")), Reserved)
    assert isinstance(await _reserve(database, (TWO, "a")), Full)


async def test_concurrent_reservations_never_pass_the_limit(fresh: Fresh) -> None:
    answers = await asyncio.gather(
        *(_reserve(fresh.database, (THREE, "a"), (TWO, f"key {n % 2}")) for n in range(30))
    )
    assert sum(isinstance(answer, Reserved) for answer in answers) == 3
    assert await _rows(fresh.database, THREE) == 3
