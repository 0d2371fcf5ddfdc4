"""Recurring maintenance driven by a clock the test sets: every Tuesday 02:00-03:00 in
Asia/Shanghai becomes one maintenance a lead ahead, announced, started and completed on time by
the scheduler; one occurrence or the whole series can be cancelled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from incidents import maintenance_flows, recurrence, series_flows
from incidents.broadcasting.models import BroadcastEvent
from incidents.common.actor import Actor
from incidents.common.audit import AuditEntry
from incidents.common.errors import Conflict
from incidents.models import Component, Maintenance
from incidents.schemas import MaintenanceCancelIn
from incidents.series_schemas import SeriesIn
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.conftest import Fresh

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # a Friday
# Tuesdays 02:00 in Shanghai are Mondays 18:00 UTC.
FIRST = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def actor(moment: datetime) -> Actor:
    return Actor(staff_id=None, default_language="en", now=moment)


async def _series(database: Database, zone: ZoneInfo = SHANGHAI, **more: object) -> int:
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="ETH withdrawals")
        session.add(component)
        await session.flush()
        data = SeriesIn.model_validate(
            {
                "name": "Weekly node maintenance",
                "body": "Withdrawals pause for an hour.",
                "rrule": "FREQ=WEEKLY;BYDAY=TU",
                "first_start": datetime(2026, 11, 24, 2, 0, tzinfo=SHANGHAI),
                "duration_minutes": 60,
                "lead_days": 7,
                "component_ids": [component.id],
                "translations": {"zh-CN": {"name": "每周节点维护", "body": "提现暂停一小时。"}},
                **more,
            }
        )
        series = await series_flows.create_series(session, data=data, actor=actor(T0), zone=zone)
        return series.id


async def _occurrences(database: Database, series_id: int) -> list[tuple[datetime, str]]:
    async with database.sessionmaker() as session:
        rows = await series_flows.occurrences_of(session, series_id=series_id)
        return [(row.scheduled_for, row.status.value) for row in rows]


async def _run(database: Database, settings: Settings, moment: datetime) -> list[str]:
    return await automation.run_due(database, settings, now=moment)


async def test_a_weekly_series_is_scheduled_a_lead_ahead_and_runs_on_time(
    database: Database, settings: Settings
) -> None:
    series = await _series(database)
    assert await _occurrences(database, series) == [(FIRST, "scheduled")]
    async with database.sessionmaker() as session:
        [announced] = await session.scalars(
            select(BroadcastEvent).where(BroadcastEvent.kind == "maintenance.scheduled")
        )
        [first] = await session.scalars(select(Maintenance))
        assert (first.name, first.translations) == (
            "Weekly node maintenance",
            {"zh-CN": {"name": "每周节点维护"}},
        )
        assert (first.series_id, first.occurrence_start) == (series, FIRST)
    assert announced.maintenance_id == first.id

    # Reminded as any maintenance; the scheduler wakes for each step.
    assert await _run(database, settings, FIRST - timedelta(hours=24)) == [
        f"maintenance {first.id} reminder 24h"
    ]
    assert await automation.next_due(database, settings, now=FIRST - timedelta(hours=2)) == (
        FIRST - timedelta(hours=1)
    )
    assert await _run(database, settings, FIRST - timedelta(hours=1)) == [
        f"maintenance {first.id} reminder 1h"
    ]
    # The next occurrence comes within the 7-day lead as the first starts: wake then too.
    assert await automation.next_due(database, settings, now=FIRST - timedelta(minutes=1)) == (
        FIRST
    )
    assert await _run(database, settings, FIRST - timedelta(minutes=1)) == []
    assert await _run(database, settings, FIRST) == [
        f"maintenance series {series} scheduled maintenance {first.id + 1}",
        f"maintenance {first.id} started",
    ]
    assert await _run(database, settings, FIRST + timedelta(minutes=60)) == [
        f"maintenance {first.id} completed"
    ]
    assert await _occurrences(database, series) == [
        (FIRST, "completed"),
        (FIRST + WEEK, "scheduled"),
    ]
    assert await _run(database, settings, FIRST + timedelta(minutes=61)) == []  # once


async def test_a_scheduler_down_for_weeks_schedules_each_occurrence_once(
    database: Database, settings: Settings
) -> None:
    series = await _series(database, auto_start=False)
    await _run(database, settings, FIRST + 3 * WEEK)
    await _run(database, settings, FIRST + 3 * WEEK + timedelta(minutes=1))
    starts = [start for start, _ in await _occurrences(database, series)]
    # Missed windows (ended before the scheduler came back) are not scheduled after the fact.
    assert starts == [FIRST, FIRST + 3 * WEEK, FIRST + 4 * WEEK]


async def test_cancelling_one_occurrence_keeps_it_cancelled_and_the_rest_coming(
    database: Database, settings: Settings
) -> None:
    series = await _series(database)
    await _run(database, settings, FIRST)
    async with database.sessionmaker() as session, session.begin():
        second = await session.scalar(
            select(Maintenance.id).where(Maintenance.occurrence_start == FIRST + WEEK)
        )
        assert second is not None
        await maintenance_flows.cancel_maintenance(
            session,
            maintenance_id=second,
            data=MaintenanceCancelIn(body="Skipped this week."),
            actor=actor(FIRST + timedelta(days=1)),
        )
    await _run(database, settings, FIRST + WEEK)
    assert await _occurrences(database, series) == [
        (FIRST, "completed"),
        (FIRST + WEEK, "cancelled"),
        (FIRST + 2 * WEEK, "scheduled"),
    ]


async def test_cancelling_the_series_cancels_what_is_to_come_and_stops_the_rule(
    database: Database, settings: Settings
) -> None:
    series = await _series(database)
    await _run(database, settings, FIRST)  # the first runs, the second is scheduled
    async with database.sessionmaker() as session, session.begin():
        cancelled = await series_flows.cancel_series(
            session,
            series_id=series,
            data=MaintenanceCancelIn(body="We no longer need the weekly window."),
            actor=actor(FIRST + timedelta(minutes=30)),
        )
    assert cancelled.status.value == "cancelled"
    assert await _occurrences(database, series) == [
        (FIRST, "in_progress"),  # one under way runs to its end
        (FIRST + WEEK, "cancelled"),
    ]
    await _run(database, settings, FIRST + 3 * WEEK)
    assert await _occurrences(database, series) == [
        (FIRST, "completed"),
        (FIRST + WEEK, "cancelled"),
    ]
    assert await automation.next_due(database, settings, now=FIRST + 3 * WEEK) is None
    async with database.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity_type == "maintenance_series")
            )
        )
        assert actions == ["maintenance_series.create", "maintenance_series.cancel"]
        with pytest.raises(Conflict, match="cancelled already"):
            await series_flows.cancel_series(
                session,
                series_id=series,
                data=MaintenanceCancelIn(body="Again."),
                actor=actor(FIRST + WEEK),
            )


def test_two_in_the_morning_stays_two_in_the_morning_across_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    starts = recurrence.upcoming(
        "FREQ=WEEKLY;BYDAY=TU",
        first_start=datetime(2026, 3, 3, 2, 0, tzinfo=new_york),
        zone=new_york,
        after=datetime(2026, 3, 1, tzinfo=UTC),
        count=2,
    )
    assert [start.isoformat() for start in starts] == [
        "2026-03-03T07:00:00+00:00",  # EST
        "2026-03-10T06:00:00+00:00",  # EDT since 8 March: still 02:00 on the wall
    ]
    assert [start.astimezone(new_york).hour for start in starts] == [2, 2]


async def test_scheduling_waits_for_a_cancel_under_way_and_then_schedules_nothing(
    fresh: Fresh,
) -> None:
    """The scheduler's expansion and a person cancelling the series, in two real
    transactions: the expansion waits for the series row and finds it cancelled."""
    database = fresh.database
    series = await _series(database)
    async with database.sessionmaker() as cancelling, cancelling.begin():
        await series_flows.cancel_series(
            cancelling,
            series_id=series,
            data=MaintenanceCancelIn(body="Retired."),
            actor=actor(FIRST - timedelta(days=1)),
        )

        async def expand() -> list[str]:
            async with database.sessionmaker() as session, session.begin():
                return await series_flows.schedule_due(session, actor=actor(FIRST))

        expanding = asyncio.create_task(expand())
        await asyncio.sleep(0.3)
        assert not expanding.done()  # held by the cancel's lock until it commits
    assert await expanding == []
    assert await _occurrences(database, series) == [(FIRST, "cancelled")]
