"""Feed readers, calendars and badges follow incidents and maintenance: parsed by real parsers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import icalendar
import pytest
from lxml import etree  # type: ignore[import-untyped]

from statuspage.config import Settings

API = "/api/staff"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        time_zone="Asia/Shanghai",
        site_name="CoinPort",
        public_url="https://status.example.com",
        cache_poll_seconds=0,
    )


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code in {200, 201}, response.text
    return dict(response.json())


async def _incident_with_two_components(
    client: httpx.AsyncClient, support: dict[str, str]
) -> tuple[dict[str, Any], int, int]:
    eth = (await _post(client, support, "/components", {"name": "ETH withdrawals"}))["id"]
    btc = (await _post(client, support, "/components", {"name": "BTC deposits"}))["id"]
    incident = await _post(
        client,
        support,
        "/incidents",
        {
            "name": "ETH withdrawals delayed",
            "body": "Looking into it.",
            "display_at": "2026-03-01T02:00:00Z",
            "components": {str(eth): "partial_outage"},
            "translations": {"zh-CN": {"name": "ETH 提现延迟", "body": "正在调查。"}},
        },
    )
    await _post(
        client,
        support,
        f"/incidents/{incident['id']}/updates",
        {
            "status": "identified",
            "body": "A node **lags**.",
            "cause": "Lagging node",
            "expected_resolution_at": "2026-03-01T04:00:00Z",
            "display_at": "2026-03-01T02:30:00Z",
        },
    )
    await _post(
        client,
        support,
        "/incidents",
        {"name": "BTC deposits slow", "body": "Slow.", "display_at": "2026-03-02T02:00:00Z",
         "components": {str(btc): "degraded_performance"}},
    )  # fmt: skip
    return incident, eth, btc


def _html(entry: Any) -> str:
    """Atom entries carry content; RSS items carry the same HTML as their description."""
    return str(entry.content[0].value if "content" in entry else entry.summary)


async def test_rss_and_atom_have_one_entry_per_update_newest_first(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident, _, _ = await _incident_with_two_components(client, support)
    for path in ("/history.rss", "/history.atom"):
        parsed = feedparser.parse((await client.get(path)).content)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.feed.title == "CoinPort — incident history"
        assert [entry.title for entry in parsed.entries] == [
            "BTC deposits slow — Investigating",
            "ETH withdrawals delayed — Identified",
            "ETH withdrawals delayed — Investigating",
        ]
        identified = parsed.entries[1]
        assert identified.link.startswith(
            f"https://status.example.com/incidents/{incident['shortlink']}#update-"
        )
        assert identified.published_parsed[:5] == (2026, 3, 1, 2, 30)
        assert "<strong>lags</strong>" in _html(identified)
        assert "Expected resolution: 2026-03-01 12:00 (UTC+08:00)" in _html(identified)
        assert "Cause: Lagging node" in _html(identified)
        assert identified.id.startswith("tag:status.example.com,2026:incident-update/")


async def test_entry_ids_survive_a_text_edit(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident, _, _ = await _incident_with_two_components(client, support)
    before = feedparser.parse((await client.get("/history.atom")).content)
    first_update = incident["updates"][0]["id"]
    response = await client.patch(
        f"{API}/incidents/{incident['id']}/updates/{first_update}",
        json={"body": "Corrected text."},
        headers=support,
    )
    assert response.status_code == 200
    after = feedparser.parse((await client.get("/history.atom")).content)
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    assert "Corrected text." in _html(after.entries[-1])


async def test_component_feed_holds_only_its_incidents(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    _, eth, btc = await _incident_with_two_components(client, support)
    only_btc = feedparser.parse((await client.get(f"/components/{btc}/history.rss")).content)
    assert [e.title for e in only_btc.entries] == ["BTC deposits slow — Investigating"]
    assert only_btc.feed.title == "CoinPort — BTC deposits"
    only_eth = feedparser.parse((await client.get(f"/components/{eth}/history.atom")).content)
    assert len(only_eth.entries) == 2
    assert (await client.get("/components/999999/history.rss")).status_code == 404


async def test_chinese_feed_with_fallback_note(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _incident_with_two_components(client, support)
    parsed = feedparser.parse((await client.get("/history.rss?lang=zh-CN")).content)
    assert not parsed.bozo
    assert parsed.feed.language == "zh-CN"
    assert parsed.feed.title == "CoinPort — 事件历史"
    titles = [e.title for e in parsed.entries]
    assert titles == [
        "BTC deposits slow — 调查中（尚未翻译）",
        "ETH 提现延迟 — 已定位",
        "ETH 提现延迟 — 调查中",
    ]
    assert "正在调查。" in parsed.entries[2].description
    assert "（尚未翻译）" in parsed.entries[1].description  # the identified update has no zh-CN


async def test_maintenance_calendar_imports_and_tracks_reschedules(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    futures = (await _post(client, support, "/components", {"name": "Futures trading"}))["id"]
    item = await _post(
        client,
        support,
        "/maintenances",
        {"name": "Engine upgrade", "body": "Futures pause.", "component_ids": [futures],
         "scheduled_for": "2030-01-05T02:00:00Z", "scheduled_until": "2030-01-05T03:00:00Z",
         "translations": {"zh-CN": {"name": "引擎升级", "body": "合约暂停。"}}},
    )  # fmt: skip
    calendar = icalendar.Calendar.from_ical((await client.get("/maintenance.ics")).content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["uid"]) == f"maintenance-{item['id']}@status.example.com"
    assert event.decoded("dtstart") == datetime(2030, 1, 5, 2, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2030, 1, 5, 3, 0, tzinfo=UTC)
    assert str(event["summary"]) == "Engine upgrade"
    assert str(event["url"]) == f"https://status.example.com/maintenance/{item['shortlink']}"
    sequence = int(event.decoded("sequence"))

    chinese = icalendar.Calendar.from_ical(
        (await client.get("/maintenance.ics?lang=zh-CN")).content
    )
    assert [str(e["summary"]) for e in chinese.walk("VEVENT")] == ["引擎升级"]

    await client.patch(
        f"{API}/maintenances/{item['id']}",
        json={"scheduled_for": "2030-01-06T02:00:00Z", "scheduled_until": "2030-01-06T03:00:00Z"},
        headers=support,
    )
    again = icalendar.Calendar.from_ical((await client.get("/maintenance.ics")).content)
    moved = next(iter(again.walk("VEVENT")))
    assert moved.decoded("dtstart") == datetime(2030, 1, 6, 2, 0, tzinfo=UTC)
    assert int(moved.decoded("sequence")) >= sequence
    assert str(moved["uid"]) == str(event["uid"])


@pytest.mark.parametrize(
    ("impact", "message", "colour", "shield"),
    [
        (None, "All Systems Operational", "#4c1", "brightgreen"),
        ("critical", "Major Service Outage", "#e05d44", "red"),
    ],
)
async def test_badge_svg_and_shields_json(
    client: httpx.AsyncClient,
    support: dict[str, str],
    impact: str | None,
    message: str,
    colour: str,
    shield: str,
) -> None:
    if impact:
        await _post(client, support, "/incidents", {"name": "Down", "body": "x", "impact": impact})
    svg = ET.fromstring(  # noqa: S314 - our own badge
        (await client.get("/badge.svg")).content
    )
    namespace = {"svg": "http://www.w3.org/2000/svg"}
    texts = [t.text for t in svg.findall(".//svg:text", namespace)]
    assert texts[1::2] == ["status", message]  # each word follows its shadow
    assert svg.get("aria-label") == f"status: {message}"
    assert colour in [r.get("fill") for r in svg.findall(".//svg:rect", namespace)]
    shield_json = json.loads((await client.get("/badge.json")).content)
    assert shield_json == {
        "schemaVersion": 1,
        "label": "status",
        "message": message,
        "color": shield,
    }


async def test_hostile_text_does_not_break_any_format(
    client: httpx.AsyncClient, support: dict[str, str], tmp_path: Path
) -> None:
    nasty = "<script>alert(1)</script> ]]> & \u200b"  # (U+202E is refused at input)
    component = (await _post(client, support, "/components", {"name": nasty}))["id"]
    texts = {"name": nasty, "body": nasty}
    await _post(
        client,
        support,
        "/incidents",
        {**texts, "cause": nasty, "components": {str(component): "major_outage"}},
    )
    window = {"scheduled_for": "2030-01-05T02:00:00Z", "scheduled_until": "2030-01-05T03:00:00Z"}
    await _post(client, support, "/maintenances", {**texts, "component_ids": [component], **window})
    for path in ("/history.rss", "/history.atom", f"/components/{component}/history.rss"):
        parsed = feedparser.parse((await client.get(path)).content)
        assert not parsed.bozo, (path, parsed.bozo_exception)
        assert "<script>" not in parsed.entries[0].description
        assert parsed.entries[-1].title.startswith("<script>alert(1)</script>")  # as text
    calendar = icalendar.Calendar.from_ical((await client.get("/maintenance.ics")).content)
    assert str(next(iter(calendar.walk("VEVENT")))["summary"]) == nasty
    ET.fromstring(  # noqa: S314 - our own badge
        (await client.get("/badge.svg")).content
    )


@pytest.mark.parametrize("path", ["/history.rss", "/history.atom"])
async def test_a_browser_opening_a_feed_gets_a_readable_page_from_its_stylesheet(
    client: httpx.AsyncClient, support: dict[str, str], path: str
) -> None:
    await _post(client, support, "/incidents", {"name": "BTC deposits slow", "body": "Looking."})
    document = (await client.get(path)).content
    instruction = re.search(rb'<\?xml-stylesheet type="text/xsl" href="([^"]+)"\?>', document)
    assert instruction is not None and document.index(instruction.group(0)) < 60
    xsl = await client.get(instruction.group(1).decode())
    assert xsl.status_code == 200
    assert xsl.headers["content-type"] == "text/xsl; charset=utf-8"
    transform = etree.XSLT(etree.XML(xsl.content))
    page = str(transform(etree.XML(document)))
    assert "<h1>CoinPort — incident history</h1>" in page
    assert "BTC deposits slow — Investigating</a>" in page
    assert "<p>Looking.</p>" in page  # the update's own HTML, not escaped markup
    assert "copy this page's address into your feed reader" in page
    parsed = feedparser.parse(document)
    assert not parsed.bozo  # feed readers still read it
    assert parsed.feed.get("subtitle", parsed.feed.get("description")) == (
        "Incidents and maintenance of CoinPort"
    )
