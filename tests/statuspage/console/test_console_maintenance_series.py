"""Support in the console schedules one maintenance for a whole network, and creates, reads and
cancels a recurring maintenance, in English and Chinese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from incidents.common.staff import StaffRole
from incidents.models import Component, Direction, Maintenance, MaintenanceSeries
from statuspage.db import Database
from tests.statuspage.console_helpers import signed_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _ethereum(database: Database) -> list[int]:
    async with database.sessionmaker() as session, session.begin():
        made = [
            Component(name=f"{asset} {way.value}s", asset=asset, network="Ethereum", direction=way)
            for asset in ("ETH", "USDT")
            for way in Direction
        ]
        session.add_all([*made, Component(name="Spot trading")])
        await session.flush()
        return sorted(component.id for component in made)


def _next_tuesday() -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=2)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


async def test_one_maintenance_for_every_component_of_a_network(
    client: httpx.AsyncClient, database: Database
) -> None:
    ethereum = await _ethereum(database)
    csrf = await signed_in(client, database, StaffRole.support)
    form = (await client.get("/staff/maintenance/new?lang=zh-CN")).text
    assert "或选择某个网络或资产的全部组件" in form and "网络 Ethereum" in form
    start = datetime.now(UTC) + timedelta(days=3)
    made = await client.post(
        "/staff/maintenance/new",
        data={
            "csrf": csrf,
            "name_en": "Ethereum upgrade",
            "body_en": "Ethereum deposits and withdrawals pause.",
            "scheduled_for": start.strftime("%Y-%m-%dT%H:%M"),
            "scheduled_until": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "networks": "Ethereum",
        },
    )
    assert made.status_code == 303, made.text
    async with database.sessionmaker() as session:
        [maintenance] = await session.scalars(select(Maintenance))
        await session.refresh(maintenance, ["components"])
        assert sorted(c.id for c in maintenance.components) == ethereum


async def test_create_read_and_cancel_a_recurring_maintenance(
    client: httpx.AsyncClient, database: Database
) -> None:
    ethereum = await _ethereum(database)
    csrf = await signed_in(client, database, StaffRole.support)
    chinese = _text((await client.get("/staff/maintenance/series/new?lang=zh-CN")).text)
    assert "新建周期维护" in chinese and "重复规则（iCalendar RRULE）" in chinese
    form = {
        "csrf": csrf,
        "name_en": "Weekly node maintenance",
        "body_en": "Withdrawals pause for an hour.",
        "name_zh-CN": "每周节点维护",
        "body_zh-CN": "提现暂停一小时。",
        "rrule": "FREQ=DAILY;BYHOUR=1,2,3",
        "first_start": _next_tuesday().strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "60",
        "lead_days": "14",
        "component_ids": str(ethereum[0]),
        "auto_start": "on",
        "auto_complete": "on",
    }
    refused = await client.post("/staff/maintenance/series/new", data=form)
    assert refused.status_code == 422
    assert "the rule makes more than 366 occurrences a year" in refused.text
    assert 'value="FREQ=DAILY;BYHOUR=1,2,3"' in refused.text  # what was typed stays
    zh = {"accept-language": "zh-CN"}
    in_chinese = await client.post("/staff/maintenance/series/new", data=form, headers=zh)
    assert "按此规则一年会产生超过 366 次维护" in in_chinese.text
    unknown = await client.post(
        "/staff/maintenance/series/new", data={**form, "rrule": "FREQ=DAILY;EVERY=2"}, headers=zh
    )
    assert unknown.status_code == 422 and "EVERY 不是 RRULE 的组成部分" in unknown.text

    made = await client.post(
        "/staff/maintenance/series/new", data={**form, "rrule": "FREQ=WEEKLY;BYDAY=TU"}
    )
    assert made.status_code == 303, made.text
    location = made.headers["location"].split("?")[0]
    page = _text((await client.get(location + "?done=series_created")).text)
    assert "The recurring maintenance is created" in page
    first = _next_tuesday()
    assert f"{first:%Y-%m-%d} 02:00" in page
    assert "Scheduled" in page and "Not scheduled yet" in page
    zh_page = _text((await client.get(location + "?lang=zh-CN")).text)
    assert "各次窗口" in zh_page and "尚未排期" in zh_page and "取消整个系列" in zh_page

    listed = _text((await client.get("/staff/maintenance/series")).text)
    assert "Weekly node maintenance Active FREQ=WEEKLY;BYDAY=TU" in listed

    cancelled = await client.post(location + "/cancel", data={"csrf": csrf, "body_en": "Retired."})
    assert cancelled.status_code == 303, cancelled.text
    after = _text((await client.get(location)).text)
    assert "Cancel the series" not in after and "Not scheduled yet" not in after
    async with database.sessionmaker() as session:
        [series] = await session.scalars(select(MaintenanceSeries))
        assert series.status.value == "cancelled"
        statuses = set(await session.scalars(select(Maintenance.status)))
        assert {status.value for status in statuses} == {"cancelled"}
