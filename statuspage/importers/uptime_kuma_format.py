"""Uptime Kuma's public status-page API read into the import's records.

`/api/status-page/{slug}` gives the page's `config`, its pinned `incidents` (before 2.0 one
`incident`), `publicGroupList` (groups with their `monitorList`) and the maintenances active
now; `/api/status-page/heartbeat/{slug}` the last heartbeats of each monitor;
`/api/status-page/{slug}/incident-history` (2.1 on) every incident, pinned or not, newest
first by `nextCursor`. Times are the database's UTC ("2026-03-02 04:00:00").

Kuma keeps no incident timeline and ties no incident to a monitor: a pinned incident is an
open incident of one entry; an unpinned one (Kuma's way of closing it) one resolved entry.
Monitors are components, their status the last heartbeat's; heartbeats make no history.
"""

from __future__ import annotations

from incidents.models import Impact
from statuspage.importers.records import Component, Group, Incident, Page, Update
from statuspage.importers.sources import Node

# a heartbeat's status: 0 down, 1 up, 2 pending (retrying), 3 maintenance
HEARTBEAT_STATUSES = {
    0: "major_outage",
    1: "operational",
    2: "degraded_performance",
    3: "under_maintenance",
}
# an incident's style (its colour on the page) says how bad it is
IMPACTS = {"danger": Impact.major.value, "warning": Impact.minor.value}


def read_page(node: Node, slug: str) -> Page:
    config = node.field("config")
    return Page(id=config.optional("slug").text_or(slug), name=config.field("title").text())


def add_groups(page: Page, node: Node, statuses: dict[str, str]) -> None:
    """`publicGroupList`: each group and its monitors, with the status `statuses` gives."""
    for group in node.field("publicGroupList").items():
        group_id = _id(group)
        page.groups[group_id] = Group(
            group_id, group.field("name").text(), "", group.optional("weight").integer_or(0)
        )
        for monitor in group.field("monitorList").items():
            monitor_id = _id(monitor)
            if monitor_id in page.components:
                page.notes.append(
                    f"monitor {page.components[monitor_id].name!r}: only in its first group"
                )
                continue
            page.components[monitor_id] = Component(
                id=monitor_id,
                name=monitor.field("name").text(),
                description="",
                position=len(page.components),
                group_id=group_id,
                status=statuses.get(monitor_id, "operational"),
            )


def last_statuses(node: Node) -> dict[str, str]:
    """`heartbeatList` (monitor id -> heartbeats, oldest first): each monitor's last one."""
    found = {}
    beats = node.field("heartbeatList")
    if not isinstance(beats.value, dict):
        raise beats.fail("expected an object of monitor ids")
    for monitor_id in beats.value:
        listing = list(beats.field(monitor_id).items())
        if listing:
            status = listing[-1].field("status")
            number = status.integer_or(-1)
            if number not in HEARTBEAT_STATUSES:
                raise status.fail(f"{status.value!r} is not one of 0, 1, 2, 3")
            found[monitor_id] = HEARTBEAT_STATUSES[number]
    return found


def pinned(node: Node) -> list[Node]:
    """The status page's own incidents: `incidents` (2.0 on) or `incident` (or null)."""
    if isinstance(node.value, dict) and "incidents" in node.value:
        return list(node.field("incidents").items())
    one = node.optional("incident")
    return [] if one.value is None else [one]


def add_incidents(page: Page, listing: list[Node]) -> None:
    for node in listing:
        incident_id = _id(node)
        is_open = node.optional("pin").flag_or(True)
        opened_at = node.field("createdDate").utc_time()
        style = node.optional("style").text_or("")
        page.incidents[incident_id] = Incident(
            id=incident_id,
            name=node.field("title").text()[:200],
            impact=IMPACTS.get(style, Impact.none.value),
            component_ids=[],
            updates=[
                Update(
                    id=f"incident:{incident_id}" + ("" if is_open else ":closed"),
                    status="investigating" if is_open else "resolved",
                    body=node.optional("content").text_or(""),
                    display_at=opened_at,
                    changes={},
                    notified=False,
                )
            ],
        )


def note_maintenances(page: Page, node: Node) -> None:
    for maintenance in node.optional("maintenanceList").list_or_none():
        title = maintenance.field("title").text()
        page.notes.append(
            f"maintenance {title!r} left out: Uptime Kuma shows it while it runs, with"
            " recurring windows ours cannot hold (its monitors show under maintenance)"
        )


def _id(node: Node) -> str:
    found = node.field("id").id_or_none()
    if found is None:
        raise node.field("id").fail("expected an id, found null")
    return found
