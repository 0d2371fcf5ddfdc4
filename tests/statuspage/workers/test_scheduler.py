"""The real scheduler: APScheduler with its jobs in our database, one leader at a time, a
wake-up at the next due moment, and a restart that runs a missed job once."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from incidents import maintenance_flows
from incidents.broadcasting.models import BroadcastEvent
from incidents.common.actor import Actor
from incidents.models import Component, Maintenance, MaintenanceStatus
from incidents.schemas import MaintenanceIn
from statuspage.config import Settings
from statuspage.workers import scheduler as scheduler_module
from statuspage.workers.scheduler import Scheduler, job_store_engine
from tests.conftest import Fresh


def _settings(settings: Settings, fresh: Fresh) -> Settings:
    # A sweep so slow it never comes: whatever happens here happens at the wake-up.
    return dataclasses.replace(
        settings, database_url=fresh.url, run_scheduler=True, scheduler_sweep_seconds=3600
    )


async def _maintenance_starting_in(fresh: Fresh, seconds: float) -> int:
    start = datetime.now(UTC) + timedelta(seconds=seconds)
    async with fresh.database.sessionmaker() as session, session.begin():
        component = Component(name="BTC wallet")
        session.add(component)
        await session.flush()
        made = await maintenance_flows.create_maintenance(
            session,
            data=MaintenanceIn(
                name="Node upgrade",
                body="Withdrawals pause.",
                scheduled_for=start,
                scheduled_until=start + timedelta(hours=1),
                component_ids=[component.id],
            ),
            actor=Actor(staff_id=None, default_language="en"),
        )
        return made.id


async def _status(fresh: Fresh, maintenance_id: int) -> MaintenanceStatus:
    async with fresh.database.sessionmaker() as session:
        found = await session.get(Maintenance, maintenance_id)
        assert found is not None
        return found.status


async def _until(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def _jobs(fresh: Fresh) -> list[str]:
    """The job ids in the job store, read as a restarted scheduler would find them."""
    engine = job_store_engine(fresh.url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id FROM apscheduler_jobs ORDER BY id"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_exactly_one_instance_leads_and_another_takes_over_when_it_stops(
    fresh: Fresh, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-by asks for the lock every 5 s; here every 0.2 s, so it has asked (and been
    # refused) twice by the check below, and takes over within 0.2 s, not up to 5 s, after.
    monkeypatch.setattr(scheduler_module, "_RETRY_LEADERSHIP", 0.2)
    config = _settings(settings, fresh)
    first, second = Scheduler(fresh.database, config), Scheduler(fresh.database, config)
    await first.start()
    await asyncio.wait_for(first.leading.wait(), 5)
    await second.start()
    await asyncio.sleep(0.5)
    assert (first.leading.is_set(), second.leading.is_set()) == (True, False)
    await first.close()
    await asyncio.wait_for(second.leading.wait(), 10)
    await second.close()


async def test_the_jobs_live_in_the_database_and_wake_up_on_time(
    fresh: Fresh, settings: Settings
) -> None:
    maintenance = await _maintenance_starting_in(fresh, 1.5)
    scheduler = Scheduler(fresh.database, _settings(settings, fresh))
    await scheduler.start()
    try:
        await asyncio.wait_for(scheduler.leading.wait(), 5)
        await _until(lambda: _has_wake(fresh))
        assert "sweep" in await _jobs(fresh)

        async def started() -> bool:
            return await _status(fresh, maintenance) == MaintenanceStatus.in_progress

        began = time.monotonic()
        await _until(started, seconds=6)
        assert time.monotonic() - began < 4  # at the wake-up, not at the hourly sweep
    finally:
        await scheduler.close()


async def _has_wake(fresh: Fresh) -> bool:
    return "wake" in await _jobs(fresh)


async def test_a_wake_up_missed_while_nothing_ran_runs_once_after_the_restart(
    fresh: Fresh, settings: Settings
) -> None:
    maintenance = await _maintenance_starting_in(fresh, 2.0)
    config = _settings(settings, fresh)
    scheduler = Scheduler(fresh.database, config)
    await scheduler.start()
    await asyncio.wait_for(scheduler.leading.wait(), 5)
    await _until(lambda: _has_wake(fresh))
    await scheduler.close()  # down before the moment comes
    await asyncio.sleep(2.5)
    assert await _status(fresh, maintenance) == MaintenanceStatus.scheduled
    again = Scheduler(fresh.database, config)
    await again.start()
    try:

        async def started() -> bool:
            return await _status(fresh, maintenance) == MaintenanceStatus.in_progress

        await _until(started, seconds=6)
        await asyncio.sleep(0.5)
        async with fresh.database.sessionmaker() as session:
            announced = await session.scalar(
                select(func.count()).where(BroadcastEvent.kind == "maintenance.started")
            )
        assert announced == 1
    finally:
        await again.close()


async def test_pokes_during_a_sweep_make_one_more_sweep_after_it_none_skipped(
    fresh: Fresh,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A storm of writes pokes the scheduler once a write: what a poke asks for (look again
    at what is due) is done once the sweep under way ends, not dropped with a warning."""
    from statuspage.workers import automation

    sweeps: list[datetime] = []
    spans: list[tuple[float, float]] = []  # each sweep's start and end (monotonic)
    release = asyncio.Event()
    real = automation.run_due

    async def slow_first(database: object, config: Settings, *, now: datetime) -> list[str]:
        sweeps.append(now)
        began = time.monotonic()
        if len(sweeps) == 1:
            await release.wait()
        else:
            await asyncio.sleep(0.4)  # a sweep slowed by the storm's writes
        done = await real(database, config, now=now)  # type: ignore[arg-type]
        spans.append((began, time.monotonic()))
        return done

    async def swept(count: int) -> bool:
        return len(sweeps) >= count

    monkeypatch.setattr(automation, "run_due", slow_first)
    scheduler = Scheduler(fresh.database, _settings(settings, fresh))
    await scheduler.start()
    try:
        await asyncio.wait_for(scheduler.leading.wait(), 5)
        await _until(lambda: swept(1))  # the sweep at taking the lead, held
        for _ in range(20):
            scheduler.poke()
            await asyncio.sleep(0.01)
        release.set()
        await _until(lambda: swept(2))
        await asyncio.sleep(0.5)
        assert len(sweeps) == 2  # once more for the twenty pokes
        assert "maximum number of running instances" not in caplog.text
        began = time.monotonic()
        while time.monotonic() - began < 2.0:  # a storm: a write every 20 ms for two seconds
            scheduler.poke()
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.0)
        assert 3 <= len(sweeps) <= 2 + 3  # at most one sweep a second, none dropped
        gaps = [start - end for (_, end), (start, _) in itertools.pairwise(spans)]
        assert min(gaps) >= 0.9, gaps  # a second between one sweep's end and the next
    finally:
        await scheduler.close()


async def test_stopping_mid_sweep_stops_the_sweep_quietly(
    fresh: Fresh,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The app stopping while a sweep waits (for the write lock, under a storm of alerts)
    stops it without an error logged: what it had not done is still due."""
    from statuspage.workers import automation

    waiting = asyncio.Event()

    async def stuck(database: object, config: Settings, *, now: datetime) -> list[str]:
        waiting.set()
        await asyncio.Event().wait()  # never
        return []

    monkeypatch.setattr(automation, "run_due", stuck)
    scheduler = Scheduler(fresh.database, _settings(settings, fresh))
    await scheduler.start()
    await asyncio.wait_for(waiting.wait(), 5)
    await asyncio.wait_for(scheduler.close(), 5)
    await asyncio.sleep(0.1)  # APScheduler reports a job's end from a callback
    assert "raised an exception" not in caplog.text
