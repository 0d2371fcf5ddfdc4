"""`statuspage import uptime-kuma URL --slug SLUG` against recorded Uptime Kuma answers served
locally: groups, monitors as components at their last heartbeat, and the incidents."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from incidents.models import Component, Incident, IncidentUpdate
from statuspage.db import Database
from statuspage.importers.sources import SourceError
from statuspage.importers.uptime_kuma_import import Options, run_import
from tests.receivers import HttpReceiver
from tests.statuspage.importers import sites
from tests.statuspage.importers.sites import RecordedSite


@pytest.fixture
def site(http_receiver: HttpReceiver) -> RecordedSite:
    return sites.uptime_kuma(http_receiver)


async def _counts(database: Database) -> tuple[int, ...]:
    async with database.sessionmaker() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Component, Incident, IncidentUpdate)
            ]
        )


async def test_groups_monitors_and_incidents_come_over_and_a_second_run_adds_nothing(
    database: Database,
    client: httpx.AsyncClient,
    source_client: httpx.AsyncClient,
    site: RecordedSite,
) -> None:
    report = await run_import(
        database, source_client, Options(site.url(), "zh-CN", slug="Exchange")
    )
    assert report.created == {"components": 4, "groups": 2, "incidents": 3}
    assert report.notes == [
        "maintenance '数据库升级' left out: Uptime Kuma shows it while it runs, with recurring"
        " windows ours cannot hold (its monitors show under maintenance)"
    ]
    assert "/api/status-page/exchange/incident-history?cursor=2026-02-20%2013%3A00%3A00" in (
        site.paths()
    )

    components = (await client.get("/api/v2/components.json")).json()["components"]
    by_name = {row["name"]: row for row in components}
    assert by_name["提币 Withdraw"]["group_id"] == by_name["钱包 Wallet"]["id"]
    assert by_name["K线 WebSocket"]["group_id"] == by_name["行情 Market data"]["id"]
    # the last heartbeat: up, down, pending, none yet
    assert [by_name[name]["status"] for name in ("充值 Deposit", "提币 Withdraw")] == [
        "operational",
        "major_outage",
    ]
    assert by_name["K线 WebSocket"]["status"] == "degraded_performance"
    assert by_name["行情 API"]["status"] == "operational"

    incidents = (await client.get("/api/v2/incidents.json")).json()["incidents"]
    by_title = {row["name"]: row for row in incidents}
    slow = by_title["提币到账变慢 (Withdrawals are slow)"]
    assert (slow["status"], slow["impact"]) == ("investigating", "minor")
    assert slow["started_at"].startswith("2026-03-10T08:00:00")
    [entry] = slow["incident_updates"]
    assert entry["body"].startswith("**TRC20** 网络拥堵")
    halted = by_title["现货交易中断 (Spot trading halted)"]
    assert (halted["status"], halted["impact"]) == ("resolved", "major")
    [entry] = halted["incident_updates"]  # one entry as on Kuma, already closed
    assert entry["status"] == "resolved"
    assert entry["body"] == "撮合引擎故障，现货交易暂停约 20 分钟，现已恢复。"
    [entry] = by_title["行情延迟"]["incident_updates"]
    assert entry["body"] == "Resolved."  # Kuma allows no words; ours needs some
    unresolved = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    assert [row["name"] for row in unresolved] == ["提币到账变慢 (Withdrawals are slow)"]

    before = await _counts(database)
    again = await run_import(database, source_client, Options(site.url(), "zh-CN", slug="exchange"))
    assert again.created == {}
    assert await _counts(database) == before


async def test_unpinning_on_kuma_resolves_it_here_on_the_next_run(
    database: Database,
    client: httpx.AsyncClient,
    source_client: httpx.AsyncClient,
    site: RecordedSite,
) -> None:
    await run_import(database, source_client, Options(site.url(), "zh-CN", slug="exchange"))

    def unpin(data: dict[str, list[dict[str, object]]]) -> None:
        data["incidents"][0]["pin"] = False

    site.edit("incident-history.json", unpin)
    site.edit("status-page.json", lambda data: data.update(incidents=[]))
    report = await run_import(
        database, source_client, Options(site.url(), "zh-CN", slug="exchange")
    )
    assert report.created == {}
    unresolved = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    assert unresolved == []


async def test_an_older_kuma_without_history_gives_its_pinned_incident(
    database: Database, source_client: httpx.AsyncClient, site: RecordedSite
) -> None:
    site.replace("incident-history.json", b'{"status":"fail","msg":"Not Found"}', 404)

    def old_shape(data: dict[str, object]) -> None:
        data["incident"] = data.pop("incidents")[0]  # type: ignore[index]

    site.edit("status-page.json", old_shape)
    report = await run_import(
        database, source_client, Options(site.url(), "zh-CN", slug="exchange", dry_run=True)
    )
    assert report.created["incidents"] == 1
    assert report.notes[0] == (
        "this Uptime Kuma keeps no incident history (before 2.1): the pinned incident only"
    )


async def test_a_wrong_slug_or_a_bad_heartbeat_names_the_url_and_writes_nothing(
    database: Database, source_client: httpx.AsyncClient, site: RecordedSite
) -> None:
    with pytest.raises(SourceError) as raised:
        await run_import(database, source_client, Options(site.url(), "zh-CN", slug="nope"))
    assert str(raised.value) == (f"{site.url()}/api/status-page/nope: HTTP 404 (expected 200)")

    def broken(data: dict[str, dict[str, list[dict[str, object]]]]) -> None:
        data["heartbeatList"]["12"][1]["status"] = "down"

    site.edit("heartbeat.json", broken)
    with pytest.raises(SourceError) as raised:
        await run_import(database, source_client, Options(site.url(), "zh-CN", slug="exchange"))
    assert str(raised.value) == (
        f"{site.url()}/api/status-page/heartbeat/exchange: $.heartbeatList.12[1].status:"
        " expected an integer, found a string"
    )
    assert await _counts(database) == (0, 0, 0)
