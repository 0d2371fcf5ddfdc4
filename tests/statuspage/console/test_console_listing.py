"""The console's lists of every incident and maintenance, past and present: filters by
status, dates and words (either language), paging; past maintenance reachable from a link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from incidents.common.staff import StaffRole
from incidents.models import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
)
from statuspage.console import listing
from statuspage.db import Database
from tests.statuspage.console_helpers import signed_in

JAN = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)
_LINKS = re.compile(r'<a href="/staff/(?:incidents|maintenance)/\d+">([^<]+)</a>')


def _incident(number: int, name: str, started: datetime, **more: object) -> Incident:
    return Incident(
        shortlink=f"short{number:05d}",
        name=name,
        language="en",
        impact=more.pop("impact", Impact.minor),
        status=more.pop("status", IncidentStatus.resolved),
        started_at=started,
        resolved_at=more.pop("resolved_at", started + timedelta(hours=2)),
        **more,
    )


async def _add(database: Database, *rows: object) -> None:
    async with database.sessionmaker() as session, session.begin():
        session.add_all(rows)


def _names(html: str) -> list[str]:
    return _LINKS.findall(html.split("<table>")[1])


async def test_every_incident_past_and_present_filtered(
    client: httpx.AsyncClient, database: Database
) -> None:
    old = _incident(
        1, "BTC deposits delayed", JAN, translations={"zh-CN": {"name": "BTC 充值延迟"}}
    )
    old.updates.append(
        IncidentUpdate(
            status=IncidentStatus.resolved,
            body="The node caught up.",
            language="en",
            display_at=JAN,
            translations={"zh-CN": {"body": "节点已同步完成。"}},
        )
    )
    now = datetime.now(UTC)
    live = _incident(2, "Login slow", now, status=IncidentStatus.investigating, resolved_at=None)
    await _add(
        database, old, _incident(3, "ETH withdrawals paused", JAN + timedelta(days=30)), live
    )
    await signed_in(client, database, StaffRole.support)
    everything = await client.get("/staff/incidents")
    assert everything.status_code == 200
    assert _names(everything.text) == [
        "Login slow",
        "ETH withdrawals paused",
        "BTC deposits delayed",
    ]
    table = everything.text.split("<table>")[1]
    assert "<td>Investigating</td>" in table and "investigating" not in table
    resolved = await client.get("/staff/incidents?status=resolved")
    assert _names(resolved.text) == ["ETH withdrawals paused", "BTC deposits delayed"]
    january = await client.get("/staff/incidents?from=2025-01-01&to=2025-01-31")
    assert _names(january.text) == ["BTC deposits delayed"]
    assert 'value="2025-01-31"' in january.text  # the filter stays filled in
    by_word = await client.get("/staff/incidents", params={"q": "caught UP"})
    assert _names(by_word.text) == ["BTC deposits delayed"]
    in_chinese = await client.get("/staff/incidents", params={"q": "节点"})
    assert _names(in_chinese.text) == ["BTC deposits delayed"]
    by_title = await client.get("/staff/incidents", params={"q": "充值"})
    assert _names(by_title.text) == ["BTC deposits delayed"]
    none = await client.get("/staff/incidents", params={"q": "100%_"})
    assert "No incident matches." in none.text


async def test_bad_filters_are_named(client: httpx.AsyncClient, database: Database) -> None:
    await signed_in(client, database, StaffRole.support)
    bad = await client.get("/staff/incidents?from=yesterday&status=broken")
    assert bad.status_code == 400
    assert 'id="from-error">enter a date like 2026-03-01' in bad.text
    assert 'id="status-error">choose one of the statuses listed' in bad.text
    backwards = await client.get("/staff/maintenance?from=2025-02-01&to=2025-01-01")
    assert backwards.status_code == 400
    assert 'id="to-error">must not be before the first day' in backwards.text
    edge = await client.get("/staff/incidents?to=9999-12-31&page=%C2%B2")  # "²" is no page
    assert edge.status_code == 400
    assert 'id="to-error">enter a date like 2026-03-01' in edge.text


async def test_past_maintenance_is_listed_and_paged(
    client: httpx.AsyncClient, database: Database
) -> None:
    rows = [
        Maintenance(
            shortlink=f"maint{number:05d}",
            name=f"Upgrade {number}",
            language="en",
            status=MaintenanceStatus.completed,
            scheduled_for=JAN + timedelta(days=number),
            scheduled_until=JAN + timedelta(days=number, hours=1),
        )
        for number in range(listing.PAGE_SIZE + 2)
    ]
    await _add(database, *rows)
    await signed_in(client, database, StaffRole.support)
    first = await client.get("/staff/maintenance?status=completed")
    names = _names(first.text)
    assert len(names) == listing.PAGE_SIZE and names[0] == f"Upgrade {listing.PAGE_SIZE + 1}"
    assert "Completed" in first.text
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', first.text)
    assert older is not None
    assert older.group(1) == "?status=completed&amp;page=2"
    second = await client.get("/staff/maintenance?status=completed&page=2")
    assert _names(second.text) == ["Upgrade 1", "Upgrade 0"]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text
    nav = await client.get("/staff/")
    assert '<a href="/staff/maintenance">All maintenance</a>' in nav.text
    opened = await client.get(f"/staff/maintenance/{rows[0].id}")
    assert opened.status_code == 200 and "Upgrade 0" in opened.text


async def test_the_lists_are_for_support(client: httpx.AsyncClient, database: Database) -> None:
    await signed_in(client, database, StaffRole.finance)
    assert (await client.get("/staff/incidents")).status_code == 403
    assert (await client.get("/staff/maintenance")).status_code == 403
