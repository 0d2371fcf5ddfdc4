"""Atlassian Statuspage's payloads (public API v2, manage API v1) read into plain records.

Both APIs share the shapes of components, incidents and their updates; v2 lists groups as
components with `group: true`, v1 also has `/component-groups`. A maintenance is an incident
with `scheduled_for` (its impact is `maintenance`).
"""

from __future__ import annotations

from incidents.models import ComponentStatus, Impact, IncidentStatus, MaintenanceStatus
from statuspage.importers.records import (
    Component,
    Group,
    Incident,
    Maintenance,
    Page,
    Subscriber,
    Update,
)
from statuspage.importers.sources import Node

_COMPONENT_STATUSES = frozenset(status.value for status in ComponentStatus)
_INCIDENT_STATUSES = frozenset(status.value for status in IncidentStatus)
_MAINTENANCE_STATUSES = frozenset(status.value for status in MaintenanceStatus) - {"cancelled"}
_IMPACTS = frozenset({*(impact.value for impact in Impact), "maintenance"})


def read_page(summary: Node) -> Page:
    page = summary.field("page")
    return Page(id=page.field("id").text(), name=page.field("name").text())


def add_components(page: Page, listing: Node) -> None:
    """A v2 `components.json` (or the list under v1's `/components`): groups and components."""
    for node in listing.items():
        component_id = node.field("id").text()
        name = node.field("name").text()
        description = node.optional("description").text_or("")
        position = node.optional("position").integer_or(0)
        if node.optional("group").flag_or(False):
            page.groups[component_id] = Group(component_id, name, description, position)
            continue
        page.components[component_id] = Component(
            id=component_id,
            name=name,
            description=description,
            position=position,
            group_id=node.optional("group_id").id_or_none(),
            status=node.field("status").choice(_COMPONENT_STATUSES),
        )


def add_groups(page: Page, listing: Node) -> None:
    """v1's `/component-groups`."""
    for node in listing.items():
        group_id = node.field("id").text()
        page.groups[group_id] = Group(
            group_id,
            node.field("name").text(),
            node.optional("description").text_or(""),
            node.optional("position").integer_or(0),
        )


def add_events(page: Page, listing: Node) -> None:
    """Incidents and maintenances, from `incidents.json`, `scheduled-maintenances.json`,
    a summary's lists or v1's `/incidents` (the same incident in several is read once)."""
    for node in listing.items():
        event_id = node.field("id").text()
        if node.optional("scheduled_for").value is not None:
            page.maintenances.setdefault(event_id, _maintenance(node, event_id))
        else:
            page.incidents.setdefault(event_id, _incident(node, event_id))


def _incident(node: Node, incident_id: str) -> Incident:
    impact = node.optional("impact").value
    return Incident(
        id=incident_id,
        name=node.field("name").text(),
        impact=node.field("impact").choice(_IMPACTS) if impact is not None else "none",
        component_ids=_component_ids(node),
        updates=_updates(node.field("incident_updates"), _INCIDENT_STATUSES),
        postmortem_body=node.optional("postmortem_body").text_or_none(),
        postmortem_published_at=node.optional("postmortem_published_at").time_or_none(),
    )


def _maintenance(node: Node, maintenance_id: str) -> Maintenance:
    return Maintenance(
        id=maintenance_id,
        name=node.field("name").text(),
        scheduled_for=node.field("scheduled_for").time(),
        scheduled_until=node.field("scheduled_until").time(),
        component_ids=_component_ids(node),
        updates=_updates(node.field("incident_updates"), _MAINTENANCE_STATUSES),
        auto_start=node.optional("scheduled_auto_in_progress").flag_or(True),
        auto_complete=node.optional("scheduled_auto_completed").flag_or(True),
    )


def _component_ids(node: Node) -> list[str]:
    """The `components` of an incident or subscriber: objects with an id, or bare ids."""
    found = []
    for item in node.optional("components").list_or_none():
        found.append(item.field("id").text() if isinstance(item.value, dict) else item.text())
    return found


def _updates(listing: Node, statuses: frozenset[str]) -> list[Update]:
    updates = []
    for node in listing.items():
        shown = node.optional("display_at")
        changes = {}
        for change in node.optional("affected_components").list_or_none():
            new_status = change.optional("new_status")
            if new_status.value is not None:
                changes[change.field("code").text()] = new_status.choice(_COMPONENT_STATUSES)
        updates.append(
            Update(
                id=node.field("id").text(),
                status=node.field("status").choice(statuses),
                body=node.optional("body").text_or(""),
                display_at=(shown if shown.value is not None else node.field("created_at")).time(),
                changes=changes,
                notified=node.optional("deliver_notifications").flag_or(True),
            )
        )
    if not updates:
        raise listing.fail("no updates: an incident is told by at least one")
    # Statuspage lists the newest first; the id breaks ties of one display time.
    return sorted(updates, key=lambda update: (update.display_at, update.id))


def add_subscribers(page: Page, listing: Node) -> None:
    """v1's `/subscribers`: every kind is kept here; the import says which it does not carry."""
    for node in listing.items():
        page.subscribers.append(
            Subscriber(
                id=node.field("id").text(),
                mode=node.optional("mode").text_or("email"),
                email=node.optional("email").text_or_none(),
                component_ids=_component_ids(node),
                quarantined=node.optional("quarantined_at").value is not None,
            )
        )
