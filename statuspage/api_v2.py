"""The public JSON API, shaped like Atlassian Statuspage's public API v2 (same paths and fields)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from incidents import rules
from incidents.models import (
    Component,
    ComponentGroup,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)
from statuspage import i18n
from statuspage.public_state import PublicState

__all__ = [
    "active_maintenances",
    "components",
    "dumps",
    "incidents",
    "scheduled_maintenances",
    "status",
    "summary",
    "unresolved_incidents",
    "upcoming_maintenances",
]

INCIDENT_LIMIT = 50

Json = dict[str, Any]


def dumps(data: Json) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def summary(state: PublicState) -> Json:
    return {
        "page": _page(state),
        "components": _components(state),
        "incidents": [_incident(i, state) for i in state.unresolved],
        "scheduled_maintenances": [
            _maintenance(m, state) for m in [*state.active_maintenance, *state.upcoming]
        ],
        "status": _status(state),
    }


def status(state: PublicState) -> Json:
    return {"page": _page(state), "status": _status(state)}


def components(state: PublicState) -> Json:
    return {"page": _page(state), "components": _components(state)}


def incidents(state: PublicState) -> Json:
    return {
        "page": _page(state),
        "incidents": [_incident(i, state) for i in state.incidents[:INCIDENT_LIMIT]],
    }


def unresolved_incidents(state: PublicState) -> Json:
    return {"page": _page(state), "incidents": [_incident(i, state) for i in state.unresolved]}


def scheduled_maintenances(state: PublicState) -> Json:
    newest_first = sorted(state.maintenances, key=lambda m: m.scheduled_for, reverse=True)
    return {
        "page": _page(state),
        "scheduled_maintenances": [_maintenance(m, state) for m in newest_first],
    }


def upcoming_maintenances(state: PublicState) -> Json:
    return {
        "page": _page(state),
        "scheduled_maintenances": [_maintenance(m, state) for m in state.upcoming],
    }


def active_maintenances(state: PublicState) -> Json:
    return {
        "page": _page(state),
        "scheduled_maintenances": [_maintenance(m, state) for m in state.active_maintenance],
    }


# -- objects ------------------------------------------------------------------------------


def _time(moment: datetime | None, state: PublicState) -> str | None:
    """ISO 8601 in the page's time zone with its offset, to the millisecond, as Statuspage."""
    if moment is None:
        return None
    return moment.astimezone(state.site.zone).isoformat(timespec="milliseconds")


def _page(state: PublicState) -> Json:
    return {
        "id": state.site.page_id,
        "name": state.site.name,
        "url": state.site.url,
        "time_zone": state.site.time_zone,
        "updated_at": _time(state.updated_at, state),
    }


def _status(state: PublicState) -> Json:
    indicator = state.indicator.value
    return {"indicator": indicator, "description": i18n.t("en", f"indicator.{indicator}")}


def _group_id(group_id: int) -> str:
    """Groups live in their own table; their ids get a prefix so they never meet a component's."""
    return f"g{group_id}"


def _components(state: PublicState) -> list[Json]:
    """Ungrouped components, then each group followed by its members, positions 1, 2, 3…
    in that order: widgets that sort by position show what the page shows."""
    ordered: list[Json] = [_component(c, state) for c in state.components if c.group_id is None]
    for group in state.groups:
        members = [c for c in state.components if c.group_id == group.id]
        ordered.append(_group(group, [str(c.id) for c in members], state))
        ordered.extend(_component(c, state) for c in members)
    for position, item in enumerate(ordered, start=1):
        item["position"] = position
    return ordered


def _component(component: Component, state: PublicState) -> Json:
    return {
        "id": str(component.id),
        "name": component.name,
        "status": component.status.value,
        "created_at": _time(component.created_at, state),
        "updated_at": _time(component.updated_at, state),
        "position": component.position + 1,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.created_at.astimezone(state.site.zone).date().isoformat(),
        "group_id": _group_id(component.group_id) if component.group_id is not None else None,
        "page_id": state.site.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _group(group: ComponentGroup, member_ids: list[str], state: PublicState) -> Json:
    statuses = [c.status for c in state.components if c.group_id == group.id]
    return {
        "id": _group_id(group.id),
        "name": group.name,
        "status": rules.worst_component_status(statuses).value,
        "created_at": _time(group.created_at, state),
        "updated_at": _time(group.updated_at, state),
        "position": group.position + 1,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": state.site.page_id,
        "group": True,
        "only_show_if_degraded": False,
        "components": member_ids,
    }


def _incident(incident: Incident, state: PublicState) -> Json:
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    monitoring = [u.display_at for u in updates if u.status == IncidentStatus.monitoring]
    return {
        "id": incident.shortlink,
        "name": incident.name,
        "status": incident.status.value,
        "created_at": _time(incident.created_at, state),
        "updated_at": _time(incident.updated_at, state),
        "monitoring_at": _time(min(monitoring), state) if monitoring else None,
        "resolved_at": _time(incident.resolved_at, state),
        "impact": incident.impact.value,
        "shortlink": f"{state.site.url}/s/{incident.shortlink}",
        "started_at": _time(incident.started_at, state),
        "page_id": state.site.page_id,
        "incident_updates": [_update(u, incident, state) for u in updates],
        "components": [_component(c, state) for c in incident.components],
    }


def _update(update: IncidentUpdate, incident: Incident, state: PublicState) -> Json:
    names = {c.id: c.name for c in state.components}
    affected = [
        {
            "code": str(change.component_id),
            "name": names.get(change.component_id, str(change.component_id)),
            "old_status": change.old_status.value,
            "new_status": change.new_status.value,
        }
        for change in update.component_changes
    ]
    return {
        "id": str(update.id),
        "status": update.status.value,
        "body": update.body,
        "incident_id": incident.shortlink,
        "created_at": _time(update.created_at, state),
        "updated_at": _time(update.updated_at, state),
        "display_at": _time(update.display_at, state),
        "affected_components": affected or None,
        "deliver_notifications": update.notify,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _maintenance(item: Maintenance, state: PublicState) -> Json:
    updates = sorted(item.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    return {
        "id": item.shortlink,
        "name": item.name,
        "status": item.status.value,
        "created_at": _time(item.created_at, state),
        "updated_at": _time(item.updated_at, state),
        "monitoring_at": None,
        "resolved_at": _time(item.completed_at, state),
        "impact": "maintenance",
        "shortlink": f"{state.site.url}/s/{item.shortlink}",
        "started_at": _time(item.started_at or item.scheduled_for, state),
        "page_id": state.site.page_id,
        "incident_updates": [_maintenance_update(u, item, state) for u in updates],
        "components": [_component(c, state) for c in item.components],
        "scheduled_for": _time(item.scheduled_for, state),
        "scheduled_until": _time(item.scheduled_until, state),
    }


def _maintenance_update(update: MaintenanceUpdate, item: Maintenance, state: PublicState) -> Json:
    return {
        "id": str(update.id),
        "status": update.status.value,
        "body": update.body,
        "incident_id": item.shortlink,
        "created_at": _time(update.created_at, state),
        "updated_at": _time(update.updated_at, state),
        "display_at": _time(update.display_at, state),
        "affected_components": None,
        "deliver_notifications": update.notify,
        "custom_tweet": None,
        "tweet_id": None,
    }
