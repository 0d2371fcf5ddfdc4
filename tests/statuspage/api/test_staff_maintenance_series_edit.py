"""Support edits a recurring maintenance through the staff API: the occurrences not started
follow the new texts, components, duration, rule, time of day and zone; one started stays as it
was; one cancelled by hand stays cancelled while its start is still on the rule; the calendar's
RRULE follows; bad input is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar

from tests.statuspage.api.test_staff_maintenance_series import (
    API,
    _next_tuesday,
    _series,
    _z,
    site,
)

__all__ = ["site"]  # the fixture, used by name


async def _edit(
    client: httpx.AsyncClient, support: dict[str, str], series_id: int, **fields: Any
) -> httpx.Response:
    return await client.patch(f"{API}/maintenance-series/{series_id}", json=fields, headers=support)


async def _maintenances(client: httpx.AsyncClient, support: dict[str, str]) -> list[Any]:
    listed = await client.get(f"{API}/maintenances?limit=100", headers=support)
    return sorted(listed.json(), key=lambda m: m["scheduled_for"])


async def test_an_edit_moves_the_coming_occurrences_and_keeps_a_cancelled_one_cancelled(
    site: httpx.AsyncClient, support: dict[str, str], admin: dict[str, str]
) -> None:
    series = (await _series(site, support)).json()
    first, second = (o["maintenance_id"] for o in series["occurrences"][:2])
    cancelled = await site.post(
        f"{API}/maintenances/{first}/cancel", json={"body": "Not this week."}, headers=support
    )
    assert cancelled.status_code == 200, cancelled.text
    other = await site.post(f"{API}/components", json={"name": "BTC withdrawals"}, headers=support)

    edited = await _edit(
        site,
        support,
        series["id"],
        name="Wallet maintenance",
        body="Withdrawals pause for 90 minutes.",
        translations={"zh-CN": {"name": "钱包维护", "body": "提现暂停 90 分钟。"}},
        rrule="FREQ=WEEKLY;BYDAY=TU,FR",
        duration_minutes=90,
        component_ids=[other.json()["id"]],
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["rrule"], body["duration_minutes"]) == ("FREQ=WEEKLY;BYDAY=TU,FR", 90)
    assert body["component_ids"] == [other.json()["id"]]

    tuesday = _next_tuesday()
    listed = await _maintenances(site, support)
    by_id = {m["id"]: m for m in listed}
    # The Tuesday cancelled by hand is still on the rule: it stays cancelled, as it was.
    assert (by_id[first]["status"], by_id[first]["name"]) == (
        "cancelled",
        "Weekly wallet maintenance",
    )
    # The next Tuesday is the same maintenance, with the new texts, window and components.
    assert by_id[second]["name"] == "Wallet maintenance"
    assert by_id[second]["scheduled_for"] == _z(tuesday + timedelta(weeks=1))
    assert by_id[second]["scheduled_until"] == _z(tuesday + timedelta(weeks=1, minutes=90))
    assert by_id[second]["component_ids"] == [other.json()["id"]]
    # The Fridays within the lead are scheduled, in the series' zone.
    fridays = [
        m
        for m in listed
        if datetime.fromisoformat(m["scheduled_for"]).astimezone(tuesday.tzinfo).weekday() == 4
    ]
    assert fridays and {m["status"] for m in fridays} == {"scheduled"}
    assert all(m["name"] == "Wallet maintenance" for m in fridays)

    calendar = Calendar.from_ical((await site.get("/maintenance.ics?lang=zh-CN")).content)
    [event] = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith("maintenance-series")]
    assert event["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=TU,FR"
    exdates: Any = event["exdate"]
    assert [when.dt for when in exdates.dts] == [tuesday]  # the Tuesday cancelled by hand
    assert str(event["summary"]) == "钱包维护"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)

    audit = await site.get(
        f"{API}/audit?entity_type=maintenance_series&entity_id={series['id']}", headers=admin
    )
    assert [entry["action"] for entry in audit.json()][:2] == [
        "maintenance_series.edit",
        "maintenance_series.create",
    ]


async def test_a_new_time_of_day_and_zone_reschedule_what_has_not_started_only(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    series = (await _series(site, support)).json()
    first, second = (o["maintenance_id"] for o in series["occurrences"][:2])
    started = await site.post(
        f"{API}/maintenances/{first}/updates",
        json={"status": "in_progress", "body": "Started early."},
        headers=support,
    )
    assert started.status_code == 201, started.text
    # 02:00 in Shanghai becomes 03:30 in Singapore (UTC+8 as well): 19:30 UTC the day before.
    moved_start = _next_tuesday().replace(hour=3, minute=30)
    edited = await _edit(
        site,
        support,
        series["id"],
        first_start=moved_start.isoformat(),
        time_zone="Asia/Singapore",
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["time_zone"] == "Asia/Singapore"
    by_id = {m["id"]: m for m in await _maintenances(site, support)}
    # The one under way stays as it was; the next is moved (the same maintenance, rescheduled).
    assert (by_id[first]["status"], by_id[first]["scheduled_for"]) == (
        "in_progress",
        _z(_next_tuesday()),
    )
    assert by_id[second]["scheduled_for"] == _z(moved_start + timedelta(weeks=1))
    assert by_id[second]["status"] == "scheduled"
    starts = sorted(m["scheduled_for"] for m in by_id.values() if m["status"] == "scheduled")
    assert all(
        datetime.fromisoformat(s).astimezone(UTC).strftime("%H:%M") == "19:30" for s in starts
    )


async def test_bad_edits_are_refused_naming_the_field_and_change_nothing(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    series = (await _series(site, support)).json()
    for fields, field in (
        ({"rrule": "FREQ=MINUTELY"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
        ({"rrule": "FREQ=DAILY", "duration_minutes": 1500}, "duration_minutes"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "Asia"}, "time_zone"),  # a folder of zones, not a zone
        ({"time_zone": "A" * 300}, "time_zone"),
        ({"networks": ["Nowhere"]}, "networks"),
        ({"direction": "deposit"}, "direction"),
        ({"translations": {"en": {"body": "Own language."}}}, "translations.en"),
        ({"lead_days": 3}, "lead_days"),
    ):
        refused = await _edit(site, support, series["id"], **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert refused.json()["error"]["field"] == field, (fields, refused.text)
    after = (await site.get(f"{API}/maintenance-series/{series['id']}", headers=support)).json()
    assert after == series | {"occurrences": after["occurrences"]}
    assert after["occurrences"] == series["occurrences"]

    await site.post(
        f"{API}/maintenance-series/{series['id']}/cancel",
        json={"body": "Retired."},
        headers=support,
    )
    late = await _edit(site, support, series["id"], name="Too late")
    assert (late.status_code, late.json()["error"]["field"]) == (409, "series_id")


async def test_a_start_with_seconds_is_kept_to_the_minute_and_a_rename_reaches_every_language(
    site: httpx.AsyncClient, support: dict[str, str]
) -> None:
    tuesday = _next_tuesday()
    made = await _series(
        site,
        support,
        first_start=tuesday.replace(second=30).isoformat(),
        translations={"zh-CN": {"body": "提现暂停一小时。"}},  # no title of its own
    )
    assert made.status_code == 201, made.text
    series = made.json()
    assert series["first_start"] == _z(tuesday)
    assert series["occurrences"][0]["start"] == _z(tuesday)

    renamed = await _edit(site, support, series["id"], name="Wallet maintenance")
    assert renamed.status_code == 200, renamed.text
    calendar = Calendar.from_ical((await site.get("/maintenance.ics?lang=zh-CN")).content)
    [event] = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith("maintenance-series")]
    assert str(event["summary"]) == "Wallet maintenance"  # the new name, not the first one
