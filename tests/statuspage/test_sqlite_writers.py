"""Two writers on one SQLite file: the one that reads then writes waits its turn, never
fails with "database is locked" (what the staff API does while the worker records)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from incidents.models import Component
from statuspage.db import connect, migrate


async def test_a_read_then_write_waits_for_another_writer_instead_of_failing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'two-writers.db'}"
    worker, staff = connect(url), connect(url)
    await migrate(worker)
    try:

        async def recording() -> None:  # the worker: many short write transactions
            for number in range(60):
                async with worker.sessionmaker() as session, session.begin():
                    session.add(Component(name=f"worker {number}"))
                await asyncio.sleep(0)

        async def posting() -> None:  # staff: read first, then write, as every flow does
            for number in range(30):
                async with staff.sessionmaker() as session, session.begin():
                    seen = await session.scalar(select(func.count()).select_from(Component))
                    await asyncio.sleep(0.002)  # the worker commits meanwhile
                    session.add(Component(name=f"staff {number} after {seen}"))

        await asyncio.gather(recording(), posting())
        async with staff.sessionmaker() as session:
            total = await session.scalar(select(func.count()).select_from(Component))
        assert total == 90
    finally:
        await worker.dispose()
        await staff.dispose()
