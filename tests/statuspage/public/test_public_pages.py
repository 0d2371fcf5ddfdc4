"""Account holders read the public pages: banner, incidents, ETA, cause, languages, history."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from statuspage.config import Settings

API = "/api/staff"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        time_zone="Asia/Shanghai",
        site_name="CoinEx",
        cache_poll_seconds=0,
    )


async def _component(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **more: Any
) -> int:
    response = await client.post(f"{API}/components", json={"name": name, **more}, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _open(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"name": "ETH withdrawals delayed", "body": "We are looking into it.", **fields}
    response = await client.post(f"{API}/incidents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _text(html: str) -> str:
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_home_shows_what_is_broken_since_when_eta_and_cause(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    eth = await _component(
        client, support, "ETH withdrawals", translations={"zh-CN": {"name": "ETH 提现"}}
    )
    incident = await _open(
        client,
        support,
        display_at="2026-03-01T02:00:00Z",
        components={str(eth): "partial_outage"},
        translations={"zh-CN": {"name": "ETH 提现延迟", "body": "正在调查。"}},
    )
    await client.post(
        f"{API}/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "A node fell **behind**.",
            "cause": "Lagging Ethereum node",
            "expected_resolution_at": "2026-03-01T04:30:00Z",
            "display_at": "2026-03-01T02:20:00Z",
            "translations": {"zh-CN": {"body": "节点**落后**。", "cause": "以太坊节点落后"}},
        },
        headers=support,
    )
    page = await client.get("/")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Partial System Outage" in text
    assert "ETH withdrawals delayed" in text
    assert "Started 2026-03-01 10:00 (UTC+08:00)" in text
    assert "Expected resolution: 2026-03-01 12:30 (UTC+08:00)" in text
    assert "Cause: Lagging Ethereum node" in text
    assert "A node fell <strong>behind</strong>." in page.text
    assert '<time datetime="2026-03-01T04:30:00+00:00">' in page.text
    assert "ETH withdrawals Partial outage" in text
    assert '<html lang="en">' in page.text

    chinese = await client.get("/?lang=zh-CN")
    text = _text(chinese.text)
    assert "部分系统中断" in text
    assert "ETH 提现延迟" in text
    assert "预计恢复时间： 2026年3月1日 12:30 (UTC+08:00)" in text
    assert "原因： 以太坊节点落后" in text
    assert "节点<strong>落后</strong>。" in chinese.text
    assert "ETH 提现 部分中断" in text
    assert chinese.headers["set-cookie"].startswith("lang=zh-CN;")


@pytest.mark.parametrize(
    ("request_headers", "query", "language"),
    [
        ({}, "", "en"),
        ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "", "zh-CN"),
        ({"Accept-Language": "fr-FR, en;q=0.5"}, "", "en"),
        ({"Cookie": "lang=zh-CN", "Accept-Language": "en"}, "", "zh-CN"),
        ({"Cookie": "lang=zh-CN"}, "?lang=en", "en"),
        ({}, "?lang=xx", "en"),
    ],
)
async def test_language_is_query_then_cookie_then_accept_language(
    client: httpx.AsyncClient, request_headers: dict[str, str], query: str, language: str
) -> None:
    page = await client.get(f"/{query}", headers=request_headers)
    assert page.headers["content-language"] == language
    assert f'<html lang="{language}">' in page.text


async def test_missing_translation_falls_back_with_a_note(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(client, support, name="Login codes late", body="SMS codes arrive late.")
    page = await client.get(f"/incidents/{incident['shortlink']}?lang=zh-CN")
    assert "此更新尚未翻译，以下为原文。" in page.text
    assert "SMS codes arrive late." in page.text
    english = await client.get(f"/incidents/{incident['shortlink']}?lang=en")
    assert "has not been translated" not in english.text


async def test_incident_page_has_the_whole_timeline_and_the_postmortem(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    spot = await _component(client, support, "Spot trading")
    incident = await _open(
        client,
        support,
        name="Spot trading halted",
        display_at="2026-03-01T02:00:00Z",
        components={str(spot): "major_outage"},
    )
    url = f"{API}/incidents/{incident['id']}"
    await client.post(
        f"{url}/updates",
        json={
            "status": "monitoring",
            "body": "Matching resumed.",
            "display_at": "2026-03-01T02:40:00Z",
            "components": {str(spot): "degraded_performance"},
        },
        headers=support,
    )
    await client.post(
        f"{url}/resolve",
        json={"body": "All normal.", "display_at": "2026-03-01T03:00:00Z"},
        headers=support,
    )
    await client.put(
        f"{url}/postmortem", json={"body": "## Root cause\n\nA bad deploy."}, headers=support
    )

    page = await client.get(f"/incidents/{incident['shortlink']}")
    assert page.status_code == 200
    text = _text(page.text)
    positions = [
        text.index(word) for word in ("All normal.", "Matching resumed.", "We are looking into it.")
    ]
    assert positions == sorted(positions)  # newest first
    assert "Spot trading: Major outage → Degraded performance" in text
    assert "Resolved 2026-03-01 11:00 (UTC+08:00)" in text
    assert "<h3>Root cause</h3>" in page.text
    assert 'id="update-' in page.text

    short = await client.get(f"/s/{incident['shortlink']}", follow_redirects=False)
    assert short.status_code == 301
    assert short.headers["location"] == f"/incidents/{incident['shortlink']}"


async def test_drafts_and_unknown_pages_are_not_public(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    draft = await _open(client, support, name="Secret draft", draft=True)
    assert "Secret draft" not in (await client.get("/")).text
    hidden = await client.get(f"/incidents/{draft['shortlink']}")
    assert hidden.status_code == 404
    assert "no such page" in hidden.text
    assert (await client.get("/incidents/nope!")).status_code == 404
    assert (await client.get("/history?page=0")).status_code == 404


async def test_staff_text_cannot_inject_markup(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(
        client,
        support,
        name="<script>alert(1)</script>",
        body="<img src=x onerror=alert(1)> [x](javascript:alert(2))",
    )
    for path in ("/", f"/incidents/{incident['shortlink']}"):
        page = await client.get(path)
        assert "<script>alert" not in page.text
        assert "<img" not in page.text
        assert 'href="javascript' not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_maintenance_is_shown_before_and_during(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    futures = await _component(client, support, "Futures trading")
    created = await client.post(
        f"{API}/maintenances",
        json={
            "name": "Engine upgrade",
            "body": "Futures pause.",
            "component_ids": [futures],
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
        },
        headers=support,
    )
    item = created.json()
    text = _text((await client.get("/")).text)
    window = "2030-01-05 10:00 (UTC+08:00) – 2030-01-05 11:00 (UTC+08:00)"
    assert f"Engine upgrade Scheduled Scheduled: {window}" in text
    await client.post(
        f"{API}/maintenances/{item['id']}/updates",
        json={"status": "in_progress", "body": "Started."},
        headers=support,
    )
    text = _text((await client.get("/")).text)
    assert "Service Under Maintenance" in text
    assert "Futures trading Under maintenance" in text
    page = await client.get(f"/maintenance/{item['shortlink']}")
    assert page.status_code == 200
    assert "Started." in page.text


async def test_uptime_bar_shows_the_outage_minutes_of_the_day(
    client: httpx.AsyncClient, support: dict[str, str], database: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from incidents.common.db_types import utcnow
    from incidents.models import Component

    login = await _component(client, support, "Login and 2FA")
    async with database.sessionmaker() as session, session.begin():
        component = await session.get(Component, login)
        assert component is not None
        component.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    day = (utcnow() - timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
    incident = await _open(
        client, support, display_at=day.isoformat(), components={str(login): "major_outage"}
    )
    await client.post(
        f"{API}/incidents/{incident['id']}/resolve",
        json={"body": "ok", "display_at": (day + timedelta(minutes=45)).isoformat()},
        headers=support,
    )
    page = (await client.get("/")).text
    local_day = (day + timedelta(hours=8)).date().isoformat()
    assert f'class="d-major_outage"><title>{local_day}: 45 min Major outage</title>' in page
    # The same details without a mouse: a <details> a keyboard or a touch opens, no script.
    assert (
        '<details class="days"><summary>Daily details</summary>'
        f"<ul><li>{local_day}: 45 min Major outage</li></ul></details>"
    ) in page
    chinese = (await client.get("/?lang=zh-CN")).text
    assert f"<summary>每日详情</summary><ul><li>{local_day}：严重中断 45 分钟</li>" in chinese
    assert "99.97% uptime over the last 90 days" in page  # 45 min of 90 days


async def test_history_lists_incidents_month_by_month(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    from incidents.common.db_types import utcnow

    now = utcnow()
    await _open(
        client, support, name="This month", display_at=now.replace(day=1, hour=6).isoformat()
    )
    old = now.replace(year=now.year - 1, day=15, hour=6)
    await _open(client, support, name="Last year", display_at=old.isoformat())
    first = _text((await client.get("/history")).text)
    assert "This month" in first
    assert "Last year" not in first
    assert "Older" in first
    later = _text((await client.get("/history?page=5")).text)
    assert "Last year" in later
    assert "This month" not in later


async def test_times_across_midnight_in_shanghai_show_the_local_day_in_both_languages(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    # 23:30 on 28 February in Shanghai, resolved at 00:15 on 1 March (still 28 February in UTC)
    incident = await _open(client, support, display_at="2026-02-28T15:30:00Z")
    await client.post(
        f"{API}/incidents/{incident['id']}/resolve",
        json={"body": "Fixed.", "display_at": "2026-02-28T16:15:00Z"},
        headers=support,
    )
    path = f"/incidents/{incident['shortlink']}"
    english = _text((await client.get(path, params={"lang": "en"})).text)
    assert "Started 2026-02-28 23:30 (UTC+08:00)" in english
    assert "Resolved 2026-03-01 00:15 (UTC+08:00)" in english
    chinese = _text((await client.get(path, params={"lang": "zh-CN"})).text)
    assert "开始时间 2026年2月28日 23:30 (UTC+08:00)" in chinese
    assert "解决时间 2026年3月1日 00:15 (UTC+08:00)" in chinese


_MONTHS = "January February March April May June July August September October November December"


async def test_history_files_an_incident_under_the_local_month_named_in_each_language(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from incidents.common.db_types import utcnow

    shanghai = ZoneInfo("Asia/Shanghai")
    this_month = utcnow().astimezone(shanghai).replace(day=1)
    last_month = (this_month - timedelta(days=1)).date()
    # 00:30 on the 1st of last month in Shanghai: the last day of the month before, in UTC
    start = datetime(last_month.year, last_month.month, 1, 0, 30, tzinfo=shanghai)
    await _open(client, support, name="Past midnight", display_at=start.isoformat())
    english = _text((await client.get("/history", params={"lang": "en"})).text)
    label = f"{_MONTHS.split()[last_month.month - 1]} {last_month.year}"
    when = f"{last_month.year}-{last_month.month:02d}-01 00:30 (UTC+08:00)"
    assert f"{label} Past midnight No impact {when}" in english
    chinese = _text((await client.get("/history", params={"lang": "zh-CN"})).text)
    label = f"{last_month.year}年{last_month.month}月"
    when = f"{last_month.year}年{last_month.month}月1日 00:30 (UTC+08:00)"
    assert f"{label} Past midnight 无影响 {when}" in chinese
