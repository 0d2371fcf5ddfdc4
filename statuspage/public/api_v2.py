"""The documents of the Statuspage-compatible public API v2, rendered from the public state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from incidents import rules
from incidents.models import (
    Component,
    ComponentGroup,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage import i18n
from statuspage.public.state import PublicState

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

# incidents.json and scheduled-maintenances.json list "the 50 most recent", as Statuspage does.
LIST_LIMIT = 50
# summary.json shows "any upcoming or in-progress scheduled maintenances".
_PENDING_MAINTENANCE = frozenset({MaintenanceStatus.scheduled, *rules.ACTIVE_MAINTENANCE_STATUSES})

Json = dict[str, Any]


def dumps(data: Json) -> bytes:
    """Compact UTF-8 JSON; Chinese names and bodies stay readable, not \\u-escaped."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# -- the documents, one per endpoint ------------------------------------------------------


def summary(state: PublicState) -> Json:
    page = _Page.of(state)
    pending = [m for m in state.maintenances if m.status in _PENDING_MAINTENANCE]
    return {
        "page": page.header(),
        "components": page.listing(),
        "incidents": [page.incident(i) for i in state.unresolved],
        "scheduled_maintenances": [page.maintenance(m) for m in pending],
        "status": page.status(),
    }


def status(state: PublicState) -> Json:
    page = _Page.of(state)
    return {"page": page.header(), "status": page.status()}


def components(state: PublicState) -> Json:
    page = _Page.of(state)
    return {"page": page.header(), "components": page.listing()}


def incidents(state: PublicState) -> Json:
    return _incident_list(state, state.incidents[:LIST_LIMIT])


def unresolved_incidents(state: PublicState) -> Json:
    return _incident_list(state, state.unresolved)


def scheduled_maintenances(state: PublicState) -> Json:
    latest_first = sorted(state.maintenances, key=lambda m: (m.scheduled_for, m.id), reverse=True)
    return _maintenance_list(state, latest_first[:LIST_LIMIT])


def upcoming_maintenances(state: PublicState) -> Json:
    return _maintenance_list(state, state.upcoming)  # soonest first


def active_maintenances(state: PublicState) -> Json:
    return _maintenance_list(state, state.active_maintenance)


def _incident_list(state: PublicState, items: Iterable[Incident]) -> Json:
    page = _Page.of(state)
    return {"page": page.header(), "incidents": [page.incident(i) for i in items]}


def _maintenance_list(state: PublicState, items: Iterable[Maintenance]) -> Json:
    page = _Page.of(state)
    return {
        "page": page.header(),
        "scheduled_maintenances": [page.maintenance(m) for m in items],
    }


# -- the objects --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """One rendering: the state plus its component objects, positioned once."""

    state: PublicState
    rendered: list[Json]  # components.json order: ungrouped, then each group and its members
    by_id: dict[str, Json]  # the rendered components (not groups) by id
    affected_names: dict[int, str]

    @classmethod
    def of(cls, state: PublicState) -> _Page:
        rendered = _component_listing(state)
        return cls(
            state=state,
            rendered=rendered,
            by_id={item["id"]: item for item in rendered if not item["group"]},
            affected_names=_affected_names(state),
        )

    @property
    def id(self) -> str:
        return self.state.site.page_id

    def time(self, moment: datetime | None) -> str | None:
        return _time(moment, self.state)

    def header(self) -> Json:
        site = self.state.site
        return {
            "id": self.id,
            "name": site.name,
            "url": site.url,
            "time_zone": site.time_zone,
            "updated_at": self.time(self.state.updated_at),
        }

    def status(self) -> Json:
        indicator = self.state.indicator.value
        return {"indicator": indicator, "description": i18n.t("en", f"indicator.{indicator}")}

    def listing(self) -> list[Json]:
        return [dict(item) for item in self.rendered]

    def components_of(self, members: Iterable[Component]) -> list[Json]:
        return [dict(self.by_id[str(c.id)]) for c in members if str(c.id) in self.by_id]

    def incident(self, incident: Incident) -> Json:
        updates = _newest_first(incident.updates)
        return {
            **self._event(incident, updates),
            "monitoring_at": self.time(_first_at(updates, IncidentStatus.monitoring)),
            "resolved_at": self.time(incident.resolved_at),
            "impact": incident.impact.value,
            "shortlink": self._shortlink(incident.shortlink),
            "started_at": self.time(incident.started_at),
            "page_id": self.id,
            "incident_updates": [self._update(u, incident.shortlink) for u in updates],
            "components": self.components_of(incident.components),
            "reminder_intervals": None,  # as Statuspage's current output: not used for incidents
        }

    def maintenance(self, item: Maintenance) -> Json:
        updates = _newest_first(item.updates)
        announced = min((u.display_at for u in updates), default=item.created_at)
        return {
            **self._event(item, updates),
            "monitoring_at": self.time(_first_at(updates, MaintenanceStatus.verifying)),
            "resolved_at": self.time(item.completed_at),
            "impact": "maintenance",
            "shortlink": self._shortlink(item.shortlink),
            "started_at": self.time(announced),  # as Statuspage: when it was announced
            "page_id": self.id,
            "incident_updates": [self._update(u, item.shortlink) for u in updates],
            "components": self.components_of(item.components),
            "scheduled_for": self.time(item.scheduled_for),
            "scheduled_until": self.time(item.scheduled_until),
        }

    def _event(
        self, item: Incident | Maintenance, updates: Sequence[IncidentUpdate | MaintenanceUpdate]
    ) -> Json:
        """The leading fields incidents and maintenances share; the id is the shortlink code."""
        last_change = max([item.updated_at, *(u.updated_at for u in updates)])
        return {
            "id": item.shortlink,
            "name": item.name,
            "status": item.status.value,
            "created_at": self.time(item.created_at),
            "updated_at": self.time(last_change),
        }

    def _shortlink(self, code: str) -> str:
        return f"{self.state.site.url}/s/{code}"

    def _update(self, update: IncidentUpdate | MaintenanceUpdate, parent: str) -> Json:
        return {
            "id": str(update.id),
            "status": update.status.value,
            "body": update.body,
            "incident_id": parent,
            "created_at": self.time(update.created_at),
            "updated_at": self.time(update.updated_at),
            "display_at": self.time(update.display_at),
            "affected_components": self._affected(update),
            "deliver_notifications": update.notify,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def _affected(self, update: IncidentUpdate | MaintenanceUpdate) -> list[Json] | None:
        """What an incident update set, or None (maintenance updates set no statuses)."""
        changes = self.state.changes(update) if isinstance(update, IncidentUpdate) else []
        if not changes:
            return None
        return [
            {
                "code": str(change.component_id),
                "name": self.affected_names.get(change.component_id, str(change.component_id)),
                "old_status": change.old_status.value,
                "new_status": change.new_status.value,
            }
            for change in changes
        ]


def _component_listing(state: PublicState) -> list[Json]:
    """Statuspage numbers positions from 1 within each level: the top level (ungrouped
    components first, then groups, as the page shows them) and each group's members.
    Empty groups are left out, as on the page."""
    members = {g.id: [c for c in state.components if c.group_id == g.id] for g in state.groups}
    ungrouped = [c for c in state.components if c.group_id is None]
    groups = [g for g in state.groups if members[g.id]]
    listing = [_component(c, position, state) for position, c in enumerate(ungrouped, 1)]
    for position, group in enumerate(groups, len(ungrouped) + 1):
        listing.append(_group(group, members[group.id], position, state))
        listing.extend(_component(c, n, state) for n, c in enumerate(members[group.id], 1))
    return listing


def _component(component: Component, position: int, state: PublicState) -> Json:
    group_id = component.group_id
    return {
        "id": str(component.id),
        "name": component.name,
        "status": component.status.value,
        "created_at": _time(component.created_at, state),
        "updated_at": _time(component.updated_at, state),
        "position": position,
        "description": component.description or None,
        "showcase": component.showcase,
        # Statuspage's uptime bars start at start_date; ours at the component's creation.
        "start_date": component.created_at.astimezone(state.site.zone).date().isoformat(),
        "group_id": _group_id(group_id) if group_id is not None else None,
        "page_id": state.site.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _group(
    group: ComponentGroup, members: list[Component], position: int, state: PublicState
) -> Json:
    return {
        "id": _group_id(group.id),
        "name": group.name,
        "status": rules.worst_component_status(c.status for c in members).value,
        "created_at": _time(group.created_at, state),
        "updated_at": _time(group.updated_at, state),
        "position": position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": state.site.page_id,
        "group": True,
        "only_show_if_degraded": False,
        "components": [str(c.id) for c in members],
    }


def _group_id(group_id: int) -> str:
    """Groups have their own table; the prefix keeps their ids apart from components'."""
    return f"g{group_id}"


def _affected_names(state: PublicState) -> dict[int, str]:
    """Statuspage names a grouped component "Group - Component" in affected_components."""
    groups = {g.id: g.name for g in state.groups}
    return {
        c.id: f"{groups[c.group_id]} - {c.name}" if c.group_id in groups else c.name
        for c in state.components
    }


# -- helpers ------------------------------------------------------------------------------


def _time(moment: datetime | None, state: PublicState) -> str | None:
    """ISO 8601 to the millisecond in the page's time zone, as Statuspage writes it
    ("2019-02-20T13:40:58.572-06:00", and "…Z" on a page kept in UTC)."""
    if moment is None:
        return None
    local = moment.astimezone(state.site.zone)
    text = local.isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z" if local.tzname() in {"UTC", "UCT"} else text


_Update = TypeVar("_Update", IncidentUpdate, MaintenanceUpdate)


def _newest_first(updates: Iterable[_Update]) -> list[_Update]:
    return sorted(updates, key=lambda u: (u.display_at, u.id), reverse=True)


def _first_at(
    updates: Iterable[IncidentUpdate | MaintenanceUpdate],
    status: IncidentStatus | MaintenanceStatus,
) -> datetime | None:
    """When the first update that moved to `status` was shown, if any did."""
    return min((u.display_at for u in updates if u.status == status), default=None)
