"""Editing a recurring maintenance on a clock the test sets: a text edit leaves a window staff
moved by hand where it is and tells no one of a new time; a day an edit dropped comes back when
the rule has it again, a day staff cancelled stays cancelled at any time of day; an earlier time
of day that has passed today keeps today's window and moves the coming days only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from incidents import maintenance_flows, series_edits
from incidents.broadcasting.models import BroadcastEvent
from incidents.common.audit import AuditEntry
from incidents.common.errors import InvalidInput
from incidents.models import Maintenance
from incidents.schemas import MaintenanceCancelIn, MaintenancePatch
from incidents.series_schemas import SeriesPatch
from statuspage.db import Database
from tests.statuspage.workers.test_maintenance_series import FIRST, SHANGHAI, T0, _series, actor

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


async def _edit(database: Database, series_id: int, moment: datetime, **fields: Any) -> None:
    async with database.sessionmaker() as session, session.begin():
        await series_edits.edit_series(
            session,
            series_id=series_id,
            data=SeriesPatch.model_validate(fields),
            actor=actor(moment),
            dropped={"en": "Not this week after all.", "zh-CN": "本周不再维护。"},
        )


async def _windows(database: Database) -> list[tuple[int, datetime, datetime, str, str]]:
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(Maintenance).order_by(Maintenance.scheduled_for, Maintenance.id)
        )
        return [
            (item.id, item.scheduled_for, item.scheduled_until, item.status.value, item.name)
            for item in rows
        ]


async def _told(database: Database, kind: str) -> int:
    async with database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(BroadcastEvent).where(BroadcastEvent.kind == kind)
        )
        return int(count or 0)


async def _edits_of(database: Database, maintenance_id: int) -> int:
    """How many maintenance.edit entries the audit log holds for this occurrence."""
    async with database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "maintenance.edit", AuditEntry.entity_id == maintenance_id)
        )
        return int(count or 0)


def _whole_form(**changes: Any) -> dict[str, Any]:
    """Every field, as the console posts them, with the series as `_series` made it."""
    return {
        "name": "Weekly node maintenance",
        "body": "Withdrawals pause for an hour.",
        "translations": {"zh-CN": {"name": "每周节点维护", "body": "提现暂停一小时。"}},
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "first_start": datetime(2026, 11, 24, 2, 0, tzinfo=SHANGHAI),
        "duration_minutes": 60,
        "time_zone": "Asia/Shanghai",
        "auto_start": True,
        "auto_complete": True,
        **changes,
    }


async def test_a_title_fix_keeps_a_window_moved_by_hand_and_tells_no_one_of_a_new_time(
    database: Database,
) -> None:
    series = await _series(database)
    [(first, *_)] = await _windows(database)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.edit_maintenance(
            session,
            maintenance_id=first,
            data=MaintenancePatch(scheduled_for=FIRST + DAY, scheduled_until=FIRST + DAY + HOUR),
            actor=actor(T0),
        )
    await _edit(database, series, T0 + HOUR, **_whole_form(name="Weekly wallet maintenance"))
    assert await _windows(database) == [
        (first, FIRST + DAY, FIRST + DAY + HOUR, "scheduled", "Weekly wallet maintenance")
    ]
    assert await _told(database, "maintenance.rescheduled") == 1  # the move by hand only

    moved = await _edits_of(database, first)
    await _edit(
        database,
        series,
        T0 + HOUR,
        **_whole_form(name="Weekly wallet maintenance", duration_minutes=90),
    )
    assert await _edits_of(database, first) == moved  # moved by hand: neither retimed nor logged
    # Past the rule's Tuesday 02:00, the Wednesday moved by hand is still not cancelled.
    await _edit(database, series, FIRST + HOUR, **_whole_form(body="Withdrawals pause."))
    assert [w[3] for w in await _windows(database)] == ["scheduled", "scheduled"]
    assert await _told(database, "maintenance.cancelled") == 0


async def test_a_day_an_edit_dropped_comes_back_with_the_rule(database: Database) -> None:
    series = await _series(database, rrule="FREQ=WEEKLY;BYDAY=TU,FR")
    friday = datetime(2026, 11, 27, 2, 0, tzinfo=SHANGHAI)
    [(tuesday, *_), (dropped, *_)] = await _windows(database)
    await _edit(database, series, T0 + HOUR, rrule="FREQ=WEEKLY;BYDAY=TU")
    await _edit(database, series, T0 + 2 * HOUR, rrule="FREQ=WEEKLY;BYDAY=TU,FR")
    windows = await _windows(database)
    assert [(w[0], w[1], w[3]) for w in windows] == [
        (tuesday, FIRST, "scheduled"),
        (dropped, friday, "cancelled"),
        (dropped + 1, friday, "scheduled"),
    ]


async def test_a_day_cancelled_by_hand_stays_cancelled_at_a_new_time_of_day(
    database: Database,
) -> None:
    series = await _series(database)
    [(first, *_)] = await _windows(database)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.cancel_maintenance(
            session,
            maintenance_id=first,
            data=MaintenanceCancelIn(body="Not this week."),
            actor=actor(T0),
        )
    three = datetime(2026, 11, 24, 3, 0, tzinfo=SHANGHAI)
    await _edit(database, series, T0 + HOUR, first_start=three)
    assert [(w[0], w[1], w[3]) for w in await _windows(database)] == [(first, FIRST, "cancelled")]
    assert await _told(database, "maintenance.scheduled") == 1


async def test_an_earlier_time_passed_today_keeps_todays_window_and_moves_the_coming_days(
    database: Database,
) -> None:
    ten = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
    series = await _series(database, rrule="FREQ=DAILY", first_start=ten)
    made = await _windows(database)
    assert [w[1] for w in made] == [ten + n * DAY for n in range(7)]
    nine = ten - HOUR
    await _edit(database, series, nine + HOUR / 2, first_start=nine)
    after = await _windows(database)
    assert (
        [(w[0], w[1], w[3]) for w in after]
        == [
            (made[0][0], ten, "scheduled"),  # today's 10:00 is kept: 09:00 has passed
            *((item[0], nine + n * DAY, "scheduled") for n, item in enumerate(made[1:], start=1)),
            (made[-1][0] + 1, nine + 7 * DAY, "scheduled"),  # the day the lead now reaches
        ]
    )
    assert await _told(database, "maintenance.rescheduled") == 6
    assert await _told(database, "maintenance.cancelled") == 0


async def test_a_window_an_edit_would_add_that_has_begun_already_is_refused(
    database: Database,
) -> None:
    ten = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
    series = await _series(database, rrule="FREQ=WEEKLY;BYDAY=SA", first_start=ten)
    made = await _windows(database)
    with pytest.raises(InvalidInput, match="has begun already") as refused:
        await _edit(
            database,
            series,
            ten - HOUR / 2,
            rrule="FREQ=WEEKLY;BYDAY=SA;BYHOUR=9,10",
            first_start=ten - HOUR,
        )
    assert refused.value.field == "first_start"
    assert await _windows(database) == made


async def test_an_earlier_time_passed_today_hours_ago_still_keeps_todays_window(
    database: Database,
) -> None:
    """Moved from 10:00 to 06:00 at 08:00: today's 10:00 stays (06:00 passed more than a
    window ago), and nothing is cancelled."""
    ten = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
    series = await _series(database, rrule="FREQ=DAILY", first_start=ten)
    made = await _windows(database)
    six = ten - 4 * HOUR
    await _edit(database, series, six + 2 * HOUR, first_start=six)
    after = await _windows(database)
    assert after[0][:4] == (made[0][0], ten, ten + HOUR, "scheduled")
    assert [w[1] for w in after[1:7]] == [six + n * DAY for n in range(1, 7)]
    assert await _told(database, "maintenance.cancelled") == 0


async def test_a_time_moved_past_midnight_moves_each_window_by_the_hour_not_a_day(
    database: Database,
) -> None:
    """23:30 moved to 00:30 in New York is an hour later: each window is rescheduled an hour
    on, none is cancelled, and no day gets a second window."""
    new_york = ZoneInfo("America/New_York")
    late = datetime(2026, 11, 20, 23, 30, tzinfo=new_york)
    series = await _series(database, zone=new_york, rrule="FREQ=DAILY", first_start=late)
    made = await _windows(database)
    assert [w[1] for w in made] == [late + n * DAY for n in range(len(made))]
    await _edit(database, series, T0 + HOUR, first_start=late + HOUR)
    after = await _windows(database)
    assert [(w[0], w[1], w[3]) for w in after] == [
        (item[0], item[1] + HOUR, "scheduled") for item in made
    ]
    assert await _told(database, "maintenance.rescheduled") == len(made)
    assert await _told(database, "maintenance.cancelled") == 0


async def test_a_series_made_with_seconds_keeps_them_when_its_form_is_saved_unchanged(
    database: Database,
) -> None:
    """Series made through the API before starts were kept to the minute have seconds; the
    console shows and posts the minute: saving its form unchanged moves no window."""
    from incidents.models import MaintenanceSeries

    series = await _series(database)
    seconds = timedelta(seconds=30)
    async with database.sessionmaker() as session, session.begin():
        made = await session.get(MaintenanceSeries, series)
        assert made is not None
        made.first_start += seconds
        for item in await session.scalars(select(Maintenance)):
            item.scheduled_for += seconds
            item.scheduled_until += seconds
            assert item.occurrence_start is not None
            item.occurrence_start += seconds
    before = await _windows(database)
    await _edit(database, series, T0 + HOUR, **_whole_form(name="Weekly wallet maintenance"))
    assert [w[:4] for w in await _windows(database)] == [w[:4] for w in before]
    assert await _told(database, "maintenance.rescheduled") == 0


async def test_a_text_edit_leaves_no_empty_audit_entry_on_a_window_with_texts_of_its_own(
    database: Database,
) -> None:
    series = await _series(database)
    [(first, *_)] = await _windows(database)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.edit_maintenance(
            session,
            maintenance_id=first,
            data=MaintenancePatch(name="Node maintenance, this week longer"),
            actor=actor(T0),
        )

    by_hand = await _edits_of(database, first)
    await _edit(database, series, T0 + HOUR, name="Weekly wallet maintenance")
    assert await _edits_of(database, first) == by_hand  # its own title stays, nothing logged
    assert (await _windows(database))[0][4] == "Node maintenance, this week longer"
