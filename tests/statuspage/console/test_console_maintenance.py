"""The support console's maintenance pages and subscriber list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import Channel, Subscription
from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from incidents.models import Maintenance, MaintenanceStatus
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.statuspage.console_helpers import add_components, signed_in


def _local(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


async def test_schedule_edit_and_start_maintenance(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, "Futures trading")
    csrf = await signed_in(client, database, StaffRole.support)
    form = {
        "csrf": csrf,
        "name_en": "Futures engine upgrade",
        "name_zh-CN": "合约引擎升级",
        "body_en": "Futures trading pauses for 30 minutes.",
        "body_zh-CN": "合约交易暂停 30 分钟。",
        "scheduled_for": _local(24),
        "scheduled_until": _local(23),
        "component_ids": str(ids["Futures trading"]),
        "auto_start": "on",
    }
    wrong = await client.post("/staff/maintenance/new", data=form)
    assert wrong.status_code == 422
    assert "scheduled_until: must be after scheduled_for" in wrong.text
    made = await client.post("/staff/maintenance/new", data={**form, "scheduled_until": _local(25)})
    assert made.status_code == 303
    location = made.headers["location"].split("?")[0]
    edited = await client.post(
        location,
        data={
            "csrf": csrf,
            "name_en": "Futures engine upgrade v2",
            "scheduled_for": _local(26),
            "scheduled_until": _local(27),
            "component_ids": str(ids["Futures trading"]),  # ticked on the page
        },
    )
    assert edited.status_code == 303, edited.text
    dashboard = await client.get("/staff/")
    assert "Futures engine upgrade v2" in dashboard.text
    started = await client.post(
        location + "/updates",
        data={
            "csrf": csrf,
            "status": "in_progress",
            "body_en": "Started.",
            "body_zh-CN": "已开始。",
        },
    )
    assert started.status_code == 303
    async with database.sessionmaker() as session:
        maintenance = await session.scalar(select(Maintenance))
        assert maintenance is not None
        assert maintenance.name == "Futures engine upgrade v2"
        assert maintenance.status == MaintenanceStatus.in_progress
        assert maintenance.auto_complete is False
    page = await client.get(location)
    assert "Started." in page.text
    late = await client.post(location + "/cancel", data={"csrf": csrf, "body_en": "Called off."})
    assert late.status_code == 409
    assert (
        "maintenance cannot go from in_progress to cancelled (allowed: completed, verifying)"
        in late.text
    )


async def test_subscribers_are_listed_with_shortened_addresses(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.sessionmaker() as session, session.begin():
        session.add(Subscription(channel=Channel.email, address="alice@example.com", language="en"))
        session.add(
            Subscription(
                channel=Channel.webhook,
                address="https://hooks.example.net/secret/path",
                language="zh-CN",
            )
        )
    await signed_in(client, database, StaffRole.support)
    page = await client.get("/staff/subscribers")
    assert page.status_code == 200
    assert "a…@example.com" in page.text
    assert "hooks.example.net" in page.text
    assert "alice@" not in page.text
    assert "secret/path" not in page.text


async def test_scheduled_maintenance_can_be_cancelled(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, "Futures trading")
    csrf = await signed_in(client, database, StaffRole.support)
    made = await client.post(
        "/staff/maintenance/new",
        data={
            "csrf": csrf,
            "name_en": "Upgrade",
            "body_en": "Paused.",
            "scheduled_for": _local(24),
            "scheduled_until": _local(25),
            "component_ids": str(ids["Futures trading"]),
        },
    )
    assert made.status_code == 303
    location = made.headers["location"].split("?")[0]
    empty = await client.post(location + "/cancel", data={"csrf": csrf, "body_en": ""})
    assert empty.status_code == 422
    assert '<span class="field-error" id="cancel.body-error">Message is required' in empty.text
    called_off = {"csrf": csrf, "body_en": "Called off.", "body_zh-CN": "已取消。"}
    asked = await client.post(location + "/cancel", data=called_off)
    assert asked.status_code == 200  # asked first, without JavaScript
    assert "<h1>Cancel this maintenance?</h1>" in asked.text
    assert '<input type="hidden" name="confirmed" value="yes">' in asked.text
    assert '<input type="hidden" name="body_en" value="Called off.">' in asked.text
    assert f'<a href="{location}#cancel">No, go back</a>' in asked.text
    chinese = await client.post(
        location + "/cancel", data=called_off, headers={"accept-language": "zh-CN"}
    )
    assert "<h1>取消这次维护？</h1>" in chinese.text
    async with database.sessionmaker() as session:
        still = await session.scalar(select(Maintenance.status))
    assert still == MaintenanceStatus.scheduled  # nothing happened until "Yes"
    cancelled = await client.post(location + "/cancel", data={**called_off, "confirmed": "yes"})
    assert cancelled.status_code == 303, cancelled.text
    async with database.sessionmaker() as session:
        gone = await session.scalar(select(Maintenance.status))
    assert gone == MaintenanceStatus.cancelled


async def _fresh_instance_reads(settings: Settings, database: Database, path: str) -> Any:
    """What another app instance serves (this one's cache hears of the scheduler's write
    by polling, which the tests turn off)."""
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        answer = await other.get(path)
    await app.running.cache.close()
    return answer.json()


async def test_a_maintenance_announcement_is_scheduled_and_goes_out_at_its_time(
    client: httpx.AsyncClient, database: Database, settings: Settings, admin: dict[str, str]
) -> None:
    ids = await add_components(database, "Futures trading")
    csrf = await signed_in(client, database, StaffRole.support)
    form = {
        "csrf": csrf,
        "name_en": "Futures engine upgrade",
        "name_zh-CN": "合约引擎升级",
        "body_en": "Futures trading pauses for 30 minutes.",
        "body_zh-CN": "合约交易暂停 30 分钟。",
        "scheduled_for": _local(48),
        "scheduled_until": _local(49),
        "component_ids": str(ids["Futures trading"]),
        "announce_at": _local(50),
    }
    late = await client.post("/staff/maintenance/new", data=form)
    assert late.status_code == 422
    assert (
        'id="scheduled_for-error">the announcement must go out before the maintenance starts'
        in late.text
    )
    assert 'value="合约引擎升级"' in late.text
    made = await client.post("/staff/maintenance/new", data={**form, "announce_at": _local(24)})
    assert made.status_code == 303
    assert made.headers["location"] == "/staff/maintenance?done=announcement_scheduled"
    listed = await client.get(made.headers["location"])
    assert "The maintenance announcement is scheduled" in listed.text
    assert (
        "Announcements still to go out" in listed.text and "Futures engine upgrade" in listed.text
    )
    upcoming = await client.get("/api/v2/scheduled-maintenances/upcoming.json")
    assert upcoming.json()["scheduled_maintenances"] == []  # nothing public yet
    [post] = (await client.get("/api/staff/scheduled-posts", headers=admin)).json()
    assert post["kind"] == "maintenance" and post["state"] == "pending"

    run_at = datetime.fromisoformat(post["run_at"].replace("Z", "+00:00"))
    done = await automation.run_due(database, settings, now=run_at)
    assert done == [f"scheduled post {post['id']} done"]
    [shown] = (await client.get("/api/staff/maintenances", headers=admin)).json()
    assert shown["name"] == "Futures engine upgrade" and shown["status"] == "scheduled"
    public = await _fresh_instance_reads(
        settings, database, "/api/v2/scheduled-maintenances/upcoming.json"
    )
    assert [item["name"] for item in public["scheduled_maintenances"]] == ["Futures engine upgrade"]
    after = await client.get("/staff/maintenance")
    assert "Announcements still to go out" not in after.text
    assert f'<a href="/staff/maintenance/{shown["id"]}">Futures engine upgrade</a>' in after.text
