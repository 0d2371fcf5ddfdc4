"""Support creates recurring maintenance through the staff API: every Tuesday 02:00-03:00 in
the site's zone (Asia/Shanghai), the occurrences within its lead scheduled at once, one
occurrence cancelled, the series in the calendar as one event with its RRULE and EXDATE, a
rule that would flood the page refused by field, and the whole series cancelled."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database

API = "/api/staff"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def site(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, time_zone="Asia/Shanghai"), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


def _next_tuesday() -> datetime:
    """The coming Tuesday after tomorrow, 02:00 in Shanghai."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=2)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=SHANGHAI)


async def _series(
    client: httpx.AsyncClient, support: dict[str, str], **fields: Any
) -> httpx.Response:
    component = await client.post(
        f"{API}/components", json={"name": "ETH withdrawals"}, headers=support
    )
    body = {
        "name": "Weekly wallet maintenance",
        "body": "Withdrawals pause for an hour.",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "first_start": _next_tuesday().isoformat(),
        "duration_minutes": 60,
        "lead_days": 14,
        "component_ids": [component.json()["id"]],
        "translations": {"zh-CN": {"name": "每周钱包维护", "body": "提现暂停一小时。"}},
        **fields,
    }
    return await client.post(f"{API}/maintenance-series", json=body, headers=support)


async def test_a_series_schedules_its_coming_weeks_and_lists_the_next_ones(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    made = await _series(site, support)
    assert made.status_code == 201, made.text
    series = made.json()
    first = _next_tuesday().astimezone(UTC)
    assert (series["rrule"], series["time_zone"], series["status"]) == (
        "FREQ=WEEKLY;BYDAY=TU",
        "Asia/Shanghai",
        "active",
    )
    occurrences = series["occurrences"]
    scheduled = [o for o in occurrences if o["maintenance_id"] is not None]
    coming = [o for o in occurrences if o["maintenance_id"] is None]
    expected = [first + timedelta(weeks=n) for n in range(12)]
    scheduled_count = 2 if expected[2] - datetime.now(UTC) > timedelta(days=14) else 3
    assert [o["start"] for o in occurrences] == [_z(moment) for moment in expected]
    assert len(scheduled) == scheduled_count and len(coming) == 10
    assert {o["status"] for o in scheduled} == {"scheduled"}
    listed = await site.get(f"{API}/maintenances", headers=support)
    assert {(m["name"], m["series_id"]) for m in listed.json()} == {
        ("Weekly wallet maintenance", series["id"])
    }
    assert len(listed.json()) == scheduled_count


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_the_calendar_has_the_series_as_one_event_with_its_rule_and_exdate(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    series = (await _series(site, support)).json()
    first = series["occurrences"][0]
    cancelled = await site.post(
        f"{API}/maintenances/{first['maintenance_id']}/cancel",
        json={"body": "Not needed this week."},
        headers=support,
    )
    assert cancelled.status_code == 200, cancelled.text

    calendar = Calendar.from_ical((await site.get("/maintenance.ics?lang=zh-CN")).content)
    [event] = calendar.walk("VEVENT")  # one event for the series, not one per occurrence
    assert str(event["summary"]) == "每周钱包维护"
    assert event["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=TU"
    start = event.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (2, 0, "Asia/Shanghai")
    assert event.decoded("dtend") - start == timedelta(hours=1)
    assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    exdates: Any = event["exdate"]
    assert [when.dt for when in exdates.dts] == [_next_tuesday()]

    await site.post(
        f"{API}/maintenance-series/{series['id']}/cancel",
        json={"body": "The weekly window is retired."},
        headers=support,
    )
    after = Calendar.from_ical((await site.get("/maintenance.ics")).content)
    [event] = after.walk("VEVENT")
    rule: Any = event["rrule"]
    assert rule["UNTIL"][0] <= datetime.now(UTC)  # the rule ends when cancelled


async def test_cancelling_the_series_cancels_its_scheduled_occurrences(
    site: httpx.AsyncClient, support: dict[str, str], admin: dict[str, str]
) -> None:
    series = (await _series(site, support)).json()
    url = f"{API}/maintenance-series/{series['id']}/cancel"
    done = await site.post(url, json={"body": "Retired."}, headers=support)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "cancelled"
    assert {o["status"] for o in body["occurrences"]} == {"cancelled"}
    assert all(o["maintenance_id"] for o in body["occurrences"])  # nothing more to come
    again = await site.post(url, json={"body": "Retired."}, headers=support)
    assert (again.status_code, again.json()["error"]["field"]) == (409, "series_id")
    audit = await site.get(
        f"{API}/audit?entity_type=maintenance_series&entity_id={series['id']}", headers=admin
    )
    assert [entry["action"] for entry in audit.json()] == [
        "maintenance_series.cancel",
        "maintenance_series.create",
    ]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"rrule": "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24)))}, "rrule", "a year"),
        ({"rrule": "FREQ=MINUTELY"}, "rrule", "FREQ must be"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule", "not a valid RRULE"),
        ({"rrule": "FREQ=WEEKLY;COLOR=RED"}, "rrule", "COLOR"),
        ({"rrule": "FREQ=WEEKLY\nDTSTART:20300101"}, "rrule", "one RRULE line"),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20200101T000000Z"}, "rrule", "no occurrence"),
        ({"rrule": "FREQ=DAILY", "duration_minutes": 1500}, "duration_minutes", "overlap"),
        ({"duration_minutes": 0}, "duration_minutes", ""),
        ({"lead_days": 365}, "lead_days", ""),
        ({"component_ids": [], "networks": ["Nowhere"]}, "networks", "Nowhere"),
    ],
)
async def test_a_rule_that_would_flood_the_page_is_refused_by_field(
    site: httpx.AsyncClient, support: dict[str, str], fields: dict[str, Any], field: str, words: str
) -> None:
    refused = await _series(site, support, **fields)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == field
    assert words in error["message"]
    assert (await site.get(f"{API}/maintenance-series", headers=support)).json() == []


async def test_the_series_endpoints_are_in_the_openapi_document(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    document = (await site.get(f"{API}/openapi.json", headers=support)).json()
    assert {"get", "post"} <= set(document["paths"][f"{API}/maintenance-series"])
    assert "post" in document["paths"][f"{API}/maintenance-series/{{series_id}}/cancel"]
