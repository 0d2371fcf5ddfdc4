"""Feed readers, calendar apps and badges read what `public.feeds` renders from the state."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import component_flows, flows, maintenance_flows
from incidents.common.actor import Actor
from incidents.models import Incident, IncidentUpdate, Indicator, Maintenance, MaintenanceUpdate
from incidents.schemas import (
    ComponentIn,
    IncidentOpen,
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenancePatch,
    MaintenanceUpdateIn,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
)
from statuspage.db import Database
from statuspage.public import badge, feeds
from statuspage.public import state as public_state
from statuspage.public.state import PublicState
from statuspage.site import Site

SITE = Site(
    name="CoinPort",
    url="https://status.example.com",
    time_zone="Asia/Shanghai",
    default_language="en",
)
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
MAINTENANCE_START = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
CATALOGUES = Path(__file__).resolve().parents[3] / "templates" / "i18n"


@dataclass(frozen=True)
class World:
    eth: int
    btc: int
    spot: int
    eth_incident_id: int
    eth_incident: str  # shortlink
    maintenance: str  # shortlink
    maintenance_id: int
    eth_updates: list[int]  # oldest first


def _actor(at: datetime) -> Actor:
    return Actor(staff_id=None, default_language="en", now=at)


async def _component(session: AsyncSession, name: str, chinese: str | None = None) -> int:
    translations: Any = {"zh-CN": {"name": chinese}} if chinese else {}
    data = ComponentIn(name=name, translations=translations)
    return (await component_flows.create_component(session, data=data, actor=_actor(T0))).id


async def _eth_incident(session: AsyncSession, eth: int) -> tuple[int, str, list[int]]:
    """Opened at T0, identified 20 minutes later, resolved after an hour; fully translated."""
    opened = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="ETH withdrawals delayed",
            body="We are looking into it.",
            components={eth: "partial_outage"},
            translations={"zh-CN": {"name": "ETH 提现延迟", "body": "正在调查。"}},
        ),
        actor=_actor(T0),
    )
    await flows.post_update(
        session,
        incident_id=opened.id,
        data=UpdateIn(
            status="identified",
            body="A node fell **behind**.",
            cause="Lagging Ethereum node",
            expected_resolution_at=T0 + timedelta(hours=2, minutes=30),
            components={eth: "major_outage"},
            translations={"zh-CN": {"body": "节点**落后**。", "cause": "以太坊节点落后"}},
        ),
        actor=_actor(T0 + timedelta(minutes=20)),
    )
    resolved = await flows.resolve_incident(
        session,
        incident_id=opened.id,
        data=ResolveIn(body="All normal.", translations={"zh-CN": {"body": "一切正常。"}}),
        actor=_actor(T0 + timedelta(minutes=60)),
    )
    return resolved.id, resolved.shortlink, [u.id for u in resolved.updates]


async def _build(database: Database) -> World:
    async with database.sessionmaker() as session, session.begin():
        eth = await _component(session, "ETH withdrawals", "ETH 提现")
        btc = await _component(session, "BTC deposits", "BTC 充值")
        spot = await _component(session, "Futures trading", "合约交易")
        eth_id, eth_incident, eth_updates = await _eth_incident(session, eth)
        await flows.open_incident(  # English only: readers of zh-CN get a note
            session,
            data=IncidentOpen(
                name="BTC deposits slow",
                body="Deposits are credited late.",
                components={btc: "degraded_performance"},
            ),
            actor=_actor(T0 + timedelta(minutes=10)),
        )
        maintenance = await maintenance_flows.create_maintenance(
            session,
            data=MaintenanceIn(
                name="Futures engine upgrade",
                body="Futures trading pauses for up to an hour.",
                scheduled_for=MAINTENANCE_START,
                scheduled_until=MAINTENANCE_START + timedelta(hours=1),
                component_ids=[spot],
                translations={
                    "zh-CN": {"name": "合约引擎升级", "body": "合约交易暂停最多一小时。"}
                },
            ),
            actor=_actor(T0 + timedelta(minutes=30)),
        )
    return World(
        eth=eth,
        btc=btc,
        spot=spot,
        eth_incident_id=eth_id,
        eth_incident=eth_incident,
        maintenance=maintenance.shortlink,
        maintenance_id=maintenance.id,
        eth_updates=eth_updates,
    )


async def _state(database: Database) -> PublicState:
    async with database.sessionmaker() as session:
        return await public_state.load(session, site=SITE, now=T0 + timedelta(days=1))


def _parse(document: bytes) -> Any:
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def _utc(parsed_time: Any) -> datetime:
    return datetime.fromtimestamp(timegm(parsed_time), UTC)


def _xml(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output, parsed to check it


def _calendar(document: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(document)


# -- RSS and Atom ---------------------------------------------------------------------------


@pytest.mark.parametrize("render", [feeds.incidents_rss, feeds.incidents_atom])
async def test_every_update_is_an_entry_newest_first(database: Database, render: Any) -> None:
    world = await _build(database)
    state = await _state(database)
    feed = _parse(render(state, "en"))

    assert feed.feed.title == "CoinPort — incident history"
    assert feed.feed.language == "en"
    assert [entry.title for entry in feed.entries] == [
        "ETH withdrawals delayed — Resolved",
        "Maintenance: Futures engine upgrade — Scheduled",
        "ETH withdrawals delayed — Identified",
        "BTC deposits slow — Investigating",
        "ETH withdrawals delayed — Investigating",
    ]
    resolved = world.eth_updates[2]
    resolved_entry, maintenance_entry, identified_entry = feed.entries[:3]
    assert resolved_entry.id == f"tag:status.example.com,2026:incident-update/{resolved}"
    assert resolved_entry.link == (
        f"https://status.example.com/incidents/{world.eth_incident}#update-{resolved}"
    )
    assert _utc(resolved_entry.published_parsed) == T0 + timedelta(minutes=60)
    assert _utc(identified_entry.published_parsed) == T0 + timedelta(minutes=20)
    assert maintenance_entry.link.startswith(
        f"https://status.example.com/maintenance/{world.maintenance}#update-"
    )
    assert maintenance_entry.id.startswith("tag:status.example.com,2026:maintenance-update/")
    assert render(state, "en") == render(state, "en")  # same state, same bytes: cacheable


async def test_entry_content_has_body_eta_cause_and_component_statuses(
    database: Database,
) -> None:
    await _build(database)
    state = await _state(database)
    identified = _parse(feeds.incidents_atom(state, "en")).entries[2]
    html = identified.content[0].value
    assert identified.content[0].type == "text/html"
    assert "<p>A node fell <strong>behind</strong>.</p>" in html
    assert "Expected resolution: 2026-03-01 12:30 (UTC+08:00)" in html
    assert "Cause: Lagging Ethereum node" in html
    assert "Affected: ETH withdrawals: Major outage" in html

    rss = _parse(feeds.incidents_rss(state, "en"))
    assert "Affected: ETH withdrawals: Operational" in rss.entries[0].summary
    maintenance = rss.entries[1].summary
    assert "Scheduled: 2026-03-04 02:00 (UTC+08:00) – 2026-03-04 03:00 (UTC+08:00)" in maintenance
    assert "Affected: Futures trading" in maintenance


async def test_chinese_readers_get_chinese_titles_and_a_note_where_untranslated(
    database: Database,
) -> None:
    await _build(database)
    state = await _state(database)
    feed = _parse(feeds.incidents_rss(state, "zh-CN"))

    assert feed.feed.title == "CoinPort — 事件历史"
    assert feed.feed.language == "zh-CN"
    assert [entry.title for entry in feed.entries] == [
        "ETH 提现延迟 — 已解决",
        "维护：合约引擎升级 — 已计划",
        "ETH 提现延迟 — 已定位",
        "BTC deposits slow — 调查中（尚未翻译）",
        "ETH 提现延迟 — 调查中",
    ]
    identified = feed.entries[2].summary
    assert "节点<strong>落后</strong>。" in identified
    assert "预计恢复时间：2026年3月1日 12:30 (UTC+08:00)" in identified
    assert "原因：以太坊节点落后" in identified
    assert "受影响：ETH 提现：严重中断" in identified
    untranslated = _parse(feeds.incidents_atom(state, "zh-CN")).entries[3].content[0].value
    assert "<em>（尚未翻译）</em>" in untranslated
    assert '<div lang="en"><p>Deposits are credited late.</p>\n</div>' in untranslated


async def test_ids_stay_when_the_text_is_edited(database: Database) -> None:
    world = await _build(database)
    before = _parse(feeds.incidents_atom(await _state(database), "en")).entries[2]
    async with database.sessionmaker() as session, session.begin():
        incident = await flows.edit_update(
            session,
            incident_id=world.eth_incident_id,
            update_id=world.eth_updates[1],
            data=UpdateEdit(body="A node fell behind; it is resyncing."),
            actor=_actor(T0 + timedelta(hours=1)),
        )
        assert incident.shortlink == world.eth_incident
    after = _parse(feeds.incidents_atom(await _state(database), "en")).entries[2]

    assert (
        after.id
        == before.id
        == f"tag:status.example.com,2026:incident-update/{world.eth_updates[1]}"
    )
    assert after.link == before.link
    assert "it is resyncing" in after.content[0].value
    assert after.published == before.published
    assert datetime.fromisoformat(after.updated) > datetime.fromisoformat(before.updated)


@pytest.mark.parametrize("render", [feeds.incidents_rss, feeds.incidents_atom])
async def test_a_component_feed_has_only_what_touches_it(database: Database, render: Any) -> None:
    world = await _build(database)
    state = await _state(database)

    btc = _parse(render(state, "en", world.btc))
    assert btc.feed.title == "CoinPort — BTC deposits"
    assert [entry.title for entry in btc.entries] == ["BTC deposits slow — Investigating"]
    eth = _parse(render(state, "zh-CN", world.eth))
    assert eth.feed.title == "CoinPort — ETH 提现"
    assert [entry.title for entry in eth.entries] == [
        "ETH 提现延迟 — 已解决",
        "ETH 提现延迟 — 已定位",
        "ETH 提现延迟 — 调查中",
    ]
    spot = _parse(render(state, "en", world.spot))
    assert [entry.title for entry in spot.entries] == [
        "Maintenance: Futures engine upgrade — Scheduled"
    ]
    with pytest.raises(feeds.UnknownComponent, match="component 999999"):
        render(state, "en", 999999)


async def test_at_most_fifty_entries_the_newest(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        opened = await flows.open_incident(
            session,
            data=IncidentOpen(name="Order book lag", body="Update 0"),
            actor=_actor(T0),
        )
        for number in range(1, 55):
            await flows.post_update(
                session,
                incident_id=opened.id,
                data=UpdateIn(status="monitoring", body=f"Update {number}"),
                actor=_actor(T0 + timedelta(minutes=number)),
            )
    feed = _parse(feeds.incidents_rss(await _state(database), "en"))
    assert len(feed.entries) == feeds.MAX_ENTRIES == 50
    assert "Update 54" in feed.entries[0].summary
    assert "Update 5</p>" in feed.entries[-1].summary


async def test_atom_has_an_author_and_the_self_link_it_is_given(database: Database) -> None:
    await _build(database)
    state = await _state(database)
    url = "https://status.example.com/history.atom?lang=en"
    feed = _parse(feeds.incidents_atom(state, "en", self_url=url))
    assert feed.feed.author == "CoinPort"
    assert {(link.rel, link.href) for link in feed.feed.links} == {
        ("self", url),
        ("alternate", "https://status.example.com"),
    }
    assert _parse(feeds.incidents_rss(state, "en", self_url=url)).feed.link == (
        "https://status.example.com"
    )


# -- iCalendar ------------------------------------------------------------------------------


def _events(document: bytes) -> dict[str, icalendar.Component]:
    return {str(event["UID"]): event for event in _calendar(document).walk("VEVENT")}


async def _maintenance_at_t0(session: AsyncSession, name: str, component_id: int) -> int:
    created = await maintenance_flows.create_maintenance(
        session,
        data=MaintenanceIn(
            name=name,
            body="Planned.",
            scheduled_for=T0,
            scheduled_until=T0 + timedelta(hours=2),
            component_ids=[component_id],
        ),
        actor=_actor(T0 - timedelta(days=1)),
    )
    return created.id


async def test_calendar_has_one_event_per_maintenance(database: Database) -> None:
    world = await _build(database)
    async with database.sessionmaker() as session, session.begin():
        running = await _maintenance_at_t0(session, "Wallet upgrade", world.eth)
        await maintenance_flows.post_maintenance_update(
            session,
            maintenance_id=running,
            data=MaintenanceUpdateIn(status="in_progress", body="Started."),
            actor=_actor(T0),
        )
        called_off = await _maintenance_at_t0(session, "Old switch", world.eth)
        await maintenance_flows.cancel_maintenance(
            session,
            maintenance_id=called_off,
            data=MaintenanceCancelIn(body="Called off."),
            actor=_actor(T0),
        )
    state = await _state(database)
    document = feeds.maintenance_ics(state, "en")
    calendar = _calendar(document)

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//status.example.com//Status page maintenance//EN"
    assert str(calendar["X-WR-CALNAME"]) == "CoinPort — scheduled maintenance"
    events = _events(document)
    assert len(events) == 3  # the cancelled one too, as CANCELLED
    assert str(events[f"maintenance-{called_off}@status.example.com"]["STATUS"]) == "CANCELLED"
    upgrade = events[f"maintenance-{world.maintenance_id}@status.example.com"]
    assert upgrade.decoded("DTSTART") == MAINTENANCE_START
    assert upgrade.decoded("DTEND") == MAINTENANCE_START + timedelta(hours=1)
    assert b"DTSTART:20260303T180000Z" in document
    assert str(upgrade["SUMMARY"]) == "Futures engine upgrade"
    assert str(upgrade["DESCRIPTION"]) == (
        "Status: Scheduled\n"
        "Scheduled: 2026-03-04 02:00 (UTC+08:00) – 2026-03-04 03:00 (UTC+08:00)\n\n"
        "Futures trading pauses for up to an hour.\n\nAffected: Futures trading"
    )
    assert str(upgrade["URL"]) == f"https://status.example.com/maintenance/{world.maintenance}"
    assert str(upgrade["STATUS"]) == "CONFIRMED"
    assert {str(e["SUMMARY"]) for e in events.values()} == {
        "Futures engine upgrade",
        "Wallet upgrade",
        "Old switch",
    }


async def _completed_and_cancelled(database: Database, eth: int) -> tuple[int, int]:
    """A maintenance done at T0 + 95 min after starting on time, and one called off."""
    async with database.sessionmaker() as session, session.begin():
        done = await _maintenance_at_t0(session, "Wallet upgrade", eth)
        for status, minutes, body in (("in_progress", 0, "Started."), ("completed", 95, "Done.")):
            await maintenance_flows.post_maintenance_update(
                session,
                maintenance_id=done,
                data=MaintenanceUpdateIn(status=status, body=body),
                actor=_actor(T0 + timedelta(minutes=minutes)),
            )
        called_off = await _maintenance_at_t0(session, "Old switch", eth)
        await maintenance_flows.cancel_maintenance(
            session,
            maintenance_id=called_off,
            data=MaintenanceCancelIn(body="Called off: the provider postponed."),
            actor=_actor(T0 - timedelta(hours=1)),
        )
    return done, called_off


async def test_calendar_events_say_how_each_maintenance_went(database: Database) -> None:
    """A calendar app shows the schedule, what the maintenance is and how it ended; a
    cancelled one stays in the feed as CANCELLED (RFC 5545), so subscribed calendars drop it."""
    world = await _build(database)
    done, called_off = await _completed_and_cancelled(database, world.eth)
    events = _events(feeds.maintenance_ics(await _state(database), "en"))
    completed = events[f"maintenance-{done}@status.example.com"]
    assert str(completed["STATUS"]) == "CONFIRMED"  # it took place (VEVENT has no COMPLETED)
    assert str(completed["DESCRIPTION"]) == (
        "Status: Completed\n"
        "Scheduled: 2026-03-01 10:00 (UTC+08:00) – 2026-03-01 12:00 (UTC+08:00)\n"
        "Completed at: 2026-03-01 11:35 (UTC+08:00)\n\n"
        "Planned.\n\n"
        "Latest update: Done.\n\n"
        "Affected: ETH withdrawals"
    )
    cancelled = events[f"maintenance-{called_off}@status.example.com"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["DESCRIPTION"]).startswith("Status: Cancelled\nScheduled: 2026-03-01")
    assert "Latest update: Called off: the provider postponed." in str(cancelled["DESCRIPTION"])
    chinese = _events(feeds.maintenance_ics(await _state(database), "zh-CN"))
    assert str(chinese[f"maintenance-{done}@status.example.com"]["DESCRIPTION"]).startswith(
        "状态：已完成\n计划时间：2026年3月1日 10:00 (UTC+08:00) 至 2026年3月1日 12:00 (UTC+08:00)\n"
        "完成时间：2026年3月1日 11:35 (UTC+08:00)\n\n（尚未翻译） Planned."
    )


async def test_calendar_speaks_the_readers_language(database: Database) -> None:
    world = await _build(database)
    document = feeds.maintenance_ics(await _state(database), "zh-CN")
    event = _events(document)[f"maintenance-{world.maintenance_id}@status.example.com"]
    assert str(_calendar(document)["X-WR-CALNAME"]) == "CoinPort — 计划维护"
    assert str(event["SUMMARY"]) == "合约引擎升级"
    assert str(event["DESCRIPTION"]) == (
        "状态：已计划\n"
        "计划时间：2026年3月4日 02:00 (UTC+08:00) 至 2026年3月4日 03:00 (UTC+08:00)\n\n"
        "合约交易暂停最多一小时。\n\n受影响：合约交易"
    )


async def test_a_reschedule_raises_the_sequence(database: Database) -> None:
    world = await _build(database)
    uid = f"maintenance-{world.maintenance_id}@status.example.com"
    # Announced an hour ago (real clock), so the reschedule below is a later revision.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Maintenance)
            .where(Maintenance.id == world.maintenance_id)
            .values(created_at=hour_ago, updated_at=hour_ago)
        )
        await session.execute(
            update(MaintenanceUpdate)
            .where(MaintenanceUpdate.maintenance_id == world.maintenance_id)
            .values(updated_at=hour_ago)
        )
    before = _events(feeds.maintenance_ics(await _state(database), "en"))[uid]
    later = MAINTENANCE_START + timedelta(days=1)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.edit_maintenance(
            session,
            maintenance_id=world.maintenance_id,
            data=MaintenancePatch(scheduled_for=later, scheduled_until=later + timedelta(hours=2)),
            actor=_actor(T0 + timedelta(hours=1)),
        )
    after = _events(feeds.maintenance_ics(await _state(database), "en"))[uid]

    assert before.decoded("SEQUENCE") == 0
    assert after.decoded("SEQUENCE") >= 3600
    assert after.decoded("DTSTART") == later
    assert after.decoded("DTEND") == later + timedelta(hours=2)
    assert after.decoded("DTSTAMP") > before.decoded("DTSTAMP")


# -- hostile text ---------------------------------------------------------------------------


async def test_hostile_text_cannot_break_the_feeds_or_the_calendar(database: Database) -> None:
    shown = "<script>alert(1)</script> ]]> & Co"
    hostile = f"{shown}\x0b"  # a pasted vertical tab: lxml refuses control characters
    incident_body = f"{hostile}\n\n<img src=x onerror=alert(2)> [x](javascript:alert(3))"
    async with database.sessionmaker() as session, session.begin():
        spot = await _component(session, "Spot <b>& ]]>")
        await flows.open_incident(
            session,
            data=IncidentOpen(
                name=shown, body=shown, cause="cause", components={spot: "major_outage"}
            ),
            actor=_actor(T0),
        )
        await maintenance_flows.create_maintenance(
            session,
            data=MaintenanceIn(
                name=shown,
                body=shown,
                scheduled_for=MAINTENANCE_START,
                scheduled_until=MAINTENANCE_START + timedelta(hours=1),
                component_ids=[spot],
            ),
            actor=_actor(T0 + timedelta(minutes=5)),
        )
        # Input refuses control characters now; rows stored before that must still render.
        cause = "</p><script>alert(4)</script>\x1b"
        await session.execute(update(Incident).values(name=hostile))
        await session.execute(update(IncidentUpdate).values(body=incident_body, cause=cause))
        await session.execute(update(Maintenance).values(name=hostile))
        await session.execute(update(MaintenanceUpdate).values(body=f"{hostile}\nline two"))
    state = dataclasses.replace(
        await _state(database), site=dataclasses.replace(SITE, name="A&B, <i>;")
    )
    for render in (feeds.incidents_rss, feeds.incidents_atom):
        document = render(state, "en")
        feed = _parse(document)
        assert [entry.title for entry in feed.entries] == [
            f"Maintenance: {shown} — Scheduled",
            f"{shown} — Investigating",
        ]
        assert feed.feed.title == "A&B, <i>; — incident history"
        assert b"<script" not in document
        assert b"\x0b" not in document
        for html in _html_of(document):  # the HTML a reader renders: no live markup in it
            assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
        assert "&lt;script&gt;alert(4)&lt;/script&gt;" in _incident_html(document)
    calendar = feeds.maintenance_ics(state, "en")
    (event,) = _calendar(calendar).walk("VEVENT")
    assert str(event["SUMMARY"]) == shown
    assert f"\n\n{shown}\nline two\n\n" in str(event["DESCRIPTION"])  # the announcement
    assert b"\x0b" not in calendar
    assert "X-WR-CALNAME:A&B\\, <i>\\; — scheduled maintenance\r\n".encode() in calendar


def _html_of(document: bytes) -> list[str]:
    html = {"{http://www.w3.org/2005/Atom}content", "description"}
    return [element.text or "" for element in _xml(document).iter() if element.tag in html]


def _incident_html(document: bytes) -> str:
    return next(text for text in _html_of(document) if "Cause:" in text)


# -- badge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "language", "message", "colour", "fill"),
    [
        (Indicator.none, "en", "All Systems Operational", "brightgreen", "#4c1"),
        (Indicator.minor, "en", "Partially Degraded Service", "yellow", "#dfb317"),
        (Indicator.major, "en", "Partial System Outage", "orange", "#fe7d37"),
        (Indicator.critical, "en", "Major Service Outage", "red", "#e05d44"),
        (Indicator.maintenance, "en", "Service Under Maintenance", "blue", "#007ec6"),
        (Indicator.none, "zh-CN", "所有系统运行正常", "brightgreen", "#4c1"),
        (Indicator.maintenance, "zh-CN", "服务维护中", "blue", "#007ec6"),
    ],
)
async def test_badge_says_what_the_page_says_coloured_by_the_indicator(
    database: Database, indicator: Indicator, language: str, message: str, colour: str, fill: str
) -> None:
    state = dataclasses.replace(await _state(database), indicator=indicator)
    label = "status" if language == "en" else "状态"
    svg = _xml(badge.badge_svg(state, language))

    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == f"{label}: {message}"
    assert svg.findtext(f"{SVG}title") == f"{label}: {message}"
    assert [text.text for text in svg.iter(f"{SVG}text")] == [label, label, message, message]
    assert [rect.get("fill") for rect in svg.iter(f"{SVG}rect")] == [
        "#fff",
        "#555",
        fill,
        "url(#s)",
    ]
    assert json.loads(badge.badge_json(state, language)) == {
        "schemaVersion": 1,
        "label": label,
        "message": message,
        "color": colour,
    }


async def test_badge_follows_the_real_state_and_cjk_text_is_wider(database: Database) -> None:
    empty = await _state(database)
    assert json.loads(badge.badge_json(empty, "en"))["message"] == "All Systems Operational"
    await _build(database)  # a degraded BTC incident stays open
    state = await _state(database)
    assert state.indicator == Indicator.minor
    assert json.loads(badge.badge_json(state, "en"))["color"] == "yellow"
    # Only degraded: the page's words, not "minor outage".
    assert json.loads(badge.badge_json(state, "en"))["message"] == "Partially Degraded Service"

    english = _xml(badge.badge_svg(state, "en"))
    chinese = _xml(badge.badge_svg(state, "zh-CN"))
    # The text plus 10px padding. "状态" and "部分服务轻微中断" are full-width characters
    # (11px each), "status" six Latin ones (6.7px, or 4px for narrow letters such as t).
    assert [r.get("width") for r in chinese.iter(f"{SVG}rect")] == ["130", "32", "98", "130"]
    assert [r.get("width") for r in english.iter(f"{SVG}rect")] == ["205", "45", "160", "205"]
    assert english.get("width") == "205"


# -- catalogues -----------------------------------------------------------------------------


def test_both_catalogues_have_the_same_keys() -> None:
    english = json.loads((CATALOGUES / "en.json").read_text("utf-8"))
    chinese = json.loads((CATALOGUES / "zh-CN.json").read_text("utf-8"))
    assert sorted(set(english) ^ set(chinese)) == []
