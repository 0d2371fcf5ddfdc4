"""Cachet 3's JSON API (JSON:API documents) read into the import's records.

Each listing is `{"data": [resource], "included": [resource], "links": {"next": ...}}`; a
resource is `{"id", "type", "attributes", "relationships"}` and a relationship's `data` names
`included` resources by type and id. Statuses are `{"human", "value"}` with Cachet's numbers,
times `{"human", "string"}` with the database's time ("2024-05-01 08:30:00", UTC by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from incidents.common.db_types import utcnow
from statuspage.importers.records import Component, Group, Incident, Maintenance, Page, Update
from statuspage.importers.sources import Node

# Cachet's ComponentStatusEnum; 5 is "unknown" (no data yet), shown as working here.
COMPONENT_STATUSES = {
    1: "operational",
    2: "degraded_performance",
    3: "partial_outage",
    4: "major_outage",
    5: "operational",
    6: "under_maintenance",
}
# Cachet's IncidentStatusEnum; 0 is "unknown", labelled "Reported": being looked into.
INCIDENT_STATUSES = {
    0: "investigating",
    1: "investigating",
    2: "identified",
    3: "monitoring",
    4: "resolved",
}
GUEST = 1  # ResourceVisibilityEnum: 0 signed-in readers only, 1 everyone, 2 hidden


@dataclass(frozen=True)
class Document:
    """One JSON:API answer: its resources, and the included ones by (type, id)."""

    node: Node

    def resources(self) -> Iterator[Node]:
        return self.node.field("data").items()

    def included(self) -> dict[tuple[str, str], Node]:
        return {_key(item): item for item in self.node.optional("included").list_or_none()}

    def next_url(self) -> str | None:
        links = self.node.optional("links")
        return None if links.value is None else links.optional("next").text_or_none()


def _key(resource: Node) -> tuple[str, str]:
    return resource.field("type").text(), _id(resource)


def _id(resource: Node) -> str:
    found = resource.field("id").id_or_none()
    if found is None:
        raise resource.field("id").fail("expected an id, found null")
    return found


def related(resource: Node, name: str) -> list[tuple[str, str]]:
    """The (type, id) of what `relationships.<name>` names: one, many, or none."""
    relationships = resource.optional("relationships")
    if relationships.value is None or relationships.optional(name).value is None:
        return []
    data = relationships.field(name).optional("data")
    if data.value is None:
        return []
    return [_key(item) for item in (data.items() if isinstance(data.value, list) else [data])]


def _status(node: Node, table: dict[int, str]) -> str:
    value = node.field("value")
    number = value.integer_or(-1)
    if number not in table:
        raise value.fail(f"{value.value!r} is not one of {', '.join(map(str, sorted(table)))}")
    return table[number]


def _when(attributes: Node, name: str) -> datetime | None:
    moment = attributes.optional(name)
    return None if moment.value is None else moment.optional("string").utc_time_or_none()


def add_groups(page: Page, document: Document) -> None:
    for resource in document.resources():
        attributes = resource.field("attributes")
        group_id = _id(resource)
        page.groups[group_id] = Group(
            group_id,
            attributes.field("name").text(),
            "",
            attributes.optional("order").integer_or(0),
        )


def add_components(page: Page, document: Document) -> None:
    for resource in document.resources():
        attributes = resource.field("attributes")
        if not attributes.optional("enabled").flag_or(True):
            continue
        component_id = _id(resource)
        groups = related(resource, "group")
        page.components[component_id] = Component(
            id=component_id,
            name=attributes.field("name").text(),
            description=attributes.optional("description").text_or(""),
            position=attributes.optional("order").integer_or(0),
            group_id=groups[0][1] if groups else None,
            status=_status(attributes.field("status"), COMPONENT_STATUSES),
        )


def visible(resource: Node) -> bool:
    return resource.field("attributes").optional("visible").integer_or(GUEST) == GUEST


def incident(
    resource: Node, included: dict[tuple[str, str], Node], changes: dict[str, str]
) -> Incident:
    """An incident: its own message is the first entry (with the component statuses it set,
    `changes`), then its updates. Cachet keeps only the latest status of the incident itself,
    so with updates the first entry says "investigating"; alone, it says that status."""
    attributes = resource.field("attributes")
    incident_id = _id(resource)
    updates = sorted(
        (_update(included[key]) for key in related(resource, "updates") if key in included),
        key=lambda update: (update.display_at, int(update.id) if update.id.isdigit() else 0),
    )
    status = _status(attributes.field("status"), INCIDENT_STATUSES) if not updates else None
    opened_at = (
        _when(attributes, "occurred")
        or _when(attributes, "published")
        or _when(attributes, "created")
    )
    if opened_at is None:
        raise attributes.field("created").fail("no time: neither occurred, published nor created")
    first = Update(
        id=f"incident:{incident_id}",
        status=status or "investigating",
        body=attributes.optional("message").text_or(""),
        display_at=min([opened_at, *(update.display_at for update in updates)]),
        changes=changes,
        notified=False,
    )
    return Incident(
        id=incident_id,
        name=attributes.field("name").text(),
        impact="",  # Cachet has none: ours derives it from the component statuses
        component_ids=[key[1] for key in related(resource, "components")],
        updates=[first, *updates],
    )


def _update(resource: Node) -> Update:
    attributes = resource.field("attributes")
    created = _when(attributes, "created")
    if created is None:
        raise attributes.field("created").fail("no time")
    return Update(
        id=_id(resource),
        status=_status(attributes.field("status"), INCIDENT_STATUSES),
        body=attributes.optional("message").text_or(""),
        display_at=created,
        changes={},
        notified=False,
    )


def pivot_statuses(document: Document) -> dict[str, str]:
    """One incident's `?include=components`: the status each component had in it."""
    found = {}
    for resource in document.included().values():
        pivot = resource.field("attributes").optional("pivot")
        if pivot.value is not None and pivot.optional("component_status").value is not None:
            status = pivot.field("component_status")
            if status.optional("value").value is not None:
                found[_id(resource)] = _status(status, COMPONENT_STATUSES)
    return found


def schedule(resource: Node, included: dict[tuple[str, str], Node]) -> Maintenance | None:
    """A schedule (maintenance); None when it has no end (Cachet allows that, ours not).

    Cachet's schedule updates carry no status: each takes the one its time falls in. A window
    already begun or over gets the start and end Cachet shows, as entries without words."""
    attributes = resource.field("attributes")
    starts, ends = _when(attributes, "scheduled"), _when(attributes, "completed")
    if starts is None:
        raise attributes.field("scheduled").fail("no time")
    if ends is None:
        return None
    schedule_id = _id(resource)
    now = utcnow()
    told = [
        (_when(included[key].field("attributes"), "created") or starts, included[key])
        for key in related(resource, "updates")
        if key in included
    ]
    created = _when(attributes, "published") or _when(attributes, "created") or starts
    entries: list[tuple[datetime, str, Node | None]] = [
        (min(created, starts), f"schedule:{schedule_id}", attributes)
    ]
    entries += [(at, _id(node), node.field("attributes")) for at, node in told]
    if starts <= now and not any(starts <= entry[0] < ends for entry in entries):
        entries.append((starts, f"schedule:{schedule_id}:started", None))
    if ends <= now and not any(entry[0] >= ends for entry in entries):
        entries.append((ends, f"schedule:{schedule_id}:completed", None))
    updates = []
    for at, entry_id, words in sorted(entries, key=lambda entry: entry[0]):
        status = "scheduled" if at < starts else "in_progress" if at < ends else "completed"
        body = words.optional("message").text_or("") if words is not None else ""
        updates.append(Update(entry_id, status, body, at, {}, notified=False))
    return Maintenance(
        id=schedule_id,
        name=attributes.field("name").text(),
        scheduled_for=starts,
        scheduled_until=ends,
        component_ids=[key[1] for key in related(resource, "components")],
        updates=updates,
    )
