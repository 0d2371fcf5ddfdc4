"""The support console's maintenance pages and subscriber list."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import Channel, Subscription
from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from incidents.models import Maintenance, MaintenanceStatus
from statuspage.db import Database
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
    assert '<span class="field-error" id="cancel.body-error">this field is required' in empty.text
    cancelled = await client.post(
        location + "/cancel",
        data={"csrf": csrf, "body_en": "Called off.", "body_zh-CN": "已取消。"},
    )
    assert cancelled.status_code == 303, cancelled.text
    async with database.sessionmaker() as session:
        gone = await session.scalar(select(Maintenance.status))
    assert gone == MaintenanceStatus.cancelled
