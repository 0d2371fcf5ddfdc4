"""Pure decisions of the incident domain: transitions, derived status, indicator, windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from incidents.common.errors import N_, InvalidTransition
from incidents.models import (
    ComponentStatus,
    Impact,
    IncidentStatus,
    Indicator,
    MaintenanceStatus,
)

OPEN_INCIDENT_STATUSES = frozenset(
    {IncidentStatus.investigating, IncidentStatus.identified, IncidentStatus.monitoring}
)
CLOSED_INCIDENT_STATUSES = frozenset({IncidentStatus.resolved, IncidentStatus.postmortem})
ACTIVE_MAINTENANCE_STATUSES = frozenset(
    {MaintenanceStatus.in_progress, MaintenanceStatus.verifying}
)
FINISHED_MAINTENANCE_STATUSES = frozenset(
    {MaintenanceStatus.completed, MaintenanceStatus.cancelled}
)

_COMPONENT_SEVERITY = {
    ComponentStatus.operational: 0,
    ComponentStatus.under_maintenance: 1,
    ComponentStatus.degraded_performance: 2,
    ComponentStatus.partial_outage: 3,
    ComponentStatus.major_outage: 4,
}
_IMPACT_SEVERITY = {Impact.none: 0, Impact.minor: 1, Impact.major: 2, Impact.critical: 3}
_IMPACT_OF_COMPONENT_STATUS = {
    ComponentStatus.operational: Impact.none,
    ComponentStatus.under_maintenance: Impact.none,
    ComponentStatus.degraded_performance: Impact.minor,
    ComponentStatus.partial_outage: Impact.major,
    ComponentStatus.major_outage: Impact.critical,
}
_MAINTENANCE_NEXT = {
    MaintenanceStatus.scheduled: {MaintenanceStatus.in_progress, MaintenanceStatus.cancelled},
    MaintenanceStatus.in_progress: {MaintenanceStatus.verifying, MaintenanceStatus.completed},
    MaintenanceStatus.verifying: {MaintenanceStatus.in_progress, MaintenanceStatus.completed},
    MaintenanceStatus.completed: set(),
    MaintenanceStatus.cancelled: set(),
}


# -- incident lifecycle -------------------------------------------------------------------


def is_open(status: IncidentStatus) -> bool:
    return status in OPEN_INCIDENT_STATUSES


def check_update(current: IncidentStatus, new: IncidentStatus) -> None:
    """An ordinary update: any open status to any open status or to resolved.

    Staff may step back (monitoring -> identified when a fix did not hold). A resolved
    incident is only reopened explicitly (`check_reopen`), and a postmortem is reached only
    by adding one (`check_postmortem`).
    """
    if current == IncidentStatus.postmortem:
        raise InvalidTransition(
            N_("this incident has a postmortem; only the postmortem can still be edited"),
            field="status",
        )
    if current == IncidentStatus.resolved:
        raise InvalidTransition(
            N_("this incident is resolved; reopen it explicitly before posting an update"),
            field="status",
        )
    if new == IncidentStatus.postmortem:
        raise InvalidTransition(
            N_("a postmortem is added with the postmortem action, not as an update"), field="status"
        )


def check_resolve(current: IncidentStatus) -> None:
    if not is_open(current):
        raise InvalidTransition(
            N_("an incident that is %(current)s cannot be resolved"), current=current.value
        )


def check_reopen(current: IncidentStatus, new: IncidentStatus) -> None:
    if current != IncidentStatus.resolved:
        raise InvalidTransition(
            N_("only a resolved incident can be reopened; this one is %(current)s"),
            current=current.value,
        )
    if not is_open(new):
        raise InvalidTransition(
            N_("a reopened incident moves to investigating, identified or monitoring"),
            field="status",
        )


def check_postmortem(current: IncidentStatus) -> None:
    if current not in CLOSED_INCIDENT_STATUSES:
        raise InvalidTransition(
            N_("a postmortem follows resolution; this incident is still %(current)s"),
            current=current.value,
        )


def check_update_edit(incident_status: IncidentStatus) -> None:
    if incident_status == IncidentStatus.postmortem:
        raise InvalidTransition(
            N_("this incident has a postmortem; only the postmortem can still be edited")
        )


# -- maintenance lifecycle ----------------------------------------------------------------


def check_maintenance_transition(current: MaintenanceStatus, new: MaintenanceStatus) -> None:
    if new == current and current not in FINISHED_MAINTENANCE_STATUSES:
        return  # a progress note without a change of status
    if new not in _MAINTENANCE_NEXT[current]:
        allowed = ", ".join(sorted(s.value for s in _MAINTENANCE_NEXT[current])) or "nothing"
        raise InvalidTransition(
            N_("maintenance cannot go from %(current)s to %(new)s (allowed: %(allowed)s)"),
            field="status",
            current=current.value,
            new=new.value,
            allowed=allowed,
        )


def check_maintenance_edit(current: MaintenanceStatus) -> None:
    if current in FINISHED_MAINTENANCE_STATUSES:
        raise InvalidTransition(
            N_("a %(current)s maintenance can no longer be changed"), current=current.value
        )


# -- derived component status and page indicator ------------------------------------------


def component_severity(status: ComponentStatus) -> int:
    """How bad a status is: operational 0 … major_outage 4."""
    return _COMPONENT_SEVERITY[status]


def worst_component_status(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=_COMPONENT_SEVERITY.__getitem__, default=ComponentStatus.operational)


def derive_component_status(
    *,
    manual: ComponentStatus,
    from_open_incidents: Iterable[ComponentStatus],
    in_active_maintenance: bool,
) -> ComponentStatus:
    """The worst of what staff set by hand, every open incident's latest word on the
    component, and `under_maintenance` while a maintenance touching it is under way.
    An outage during maintenance is worse than the maintenance, so it wins."""
    candidates = [manual, *from_open_incidents]
    if in_active_maintenance:
        candidates.append(ComponentStatus.under_maintenance)
    return worst_component_status(candidates)


def latest_component_statuses(
    changes: Sequence[StatusChange],
) -> dict[int, ComponentStatus]:
    """Each component's last status within one incident, in display order."""
    latest: dict[int, ComponentStatus] = {}
    for change in sorted(changes, key=lambda c: (c.at, c.order)):
        latest[change.component_id] = change.status
    return latest


def worst_impact(impacts: Iterable[Impact]) -> Impact:
    return max(impacts, key=_IMPACT_SEVERITY.__getitem__, default=Impact.none)


def impact_of(statuses: Iterable[ComponentStatus]) -> Impact:
    """The impact an incident implies when staff do not state one: from its worst status."""
    return worst_impact(_IMPACT_OF_COMPONENT_STATUS[status] for status in statuses)


def page_indicator(
    *,
    open_incident_impacts: Iterable[Impact],
    component_statuses: Iterable[ComponentStatus],
    maintenance_in_progress: bool,
) -> Indicator:
    """The overall indicator: the worst of open incidents' impact and of what the component
    statuses imply; `maintenance` only when nothing is worse than a maintenance."""
    statuses = list(component_statuses)
    implied = [_IMPACT_OF_COMPONENT_STATUS[status] for status in statuses]
    worst = worst_impact([*open_incident_impacts, *implied])
    if worst != Impact.none:
        return Indicator(worst.value)
    if maintenance_in_progress or ComponentStatus.under_maintenance in statuses:
        return Indicator.maintenance
    return Indicator.none


# -- impact windows -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """A component's status set at a moment; `order` breaks ties between equal moments."""

    at: datetime
    component_id: int
    status: ComponentStatus
    order: int = 0


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime | None
    status: ComponentStatus


@dataclass(frozen=True)
class ImpactWindow:
    """From a component's first non-operational status to its return to operational.

    Half-open: [start, end). `end` is None while the component has not recovered and the
    incident is still open. `segments` split the window by status level."""

    component_id: int
    start: datetime
    end: datetime | None
    segments: tuple[Segment, ...] = field(default=())

    @property
    def worst_status(self) -> ComponentStatus:
        return worst_component_status(segment.status for segment in self.segments)

    def seconds_at(self, status: ComponentStatus, *, until: datetime) -> float:
        """Seconds spent at one level, counting an open window up to `until`."""
        total = 0.0
        for segment in self.segments:
            if segment.status == status:
                end = segment.end if segment.end is not None else until
                total += max(0.0, (end - segment.start).total_seconds())
        return total


def impact_windows(
    changes: Sequence[StatusChange], *, resolved_at: datetime | None = None
) -> dict[int, list[ImpactWindow]]:
    """Per component, the windows in which an incident held it away from operational.

    Changes are taken in time order (ties by `order`). A window opens at the first
    non-operational status and closes at the change back to operational; a component may
    have several windows if it recovers and fails again. If the incident is resolved while
    a window is still open, the window closes at `resolved_at`.
    """
    by_component: dict[int, list[StatusChange]] = {}
    for change in sorted(changes, key=lambda c: (c.at, c.order)):
        by_component.setdefault(change.component_id, []).append(change)
    return {
        component_id: windows
        for component_id, component_changes in by_component.items()
        if (windows := _windows_of(component_id, component_changes, resolved_at))
    }


def _windows_of(
    component_id: int, changes: list[StatusChange], resolved_at: datetime | None
) -> list[ImpactWindow]:
    windows: list[ImpactWindow] = []
    # The open window; its last segment has no end yet. A recovery is held as a last
    # operational segment until it lasts: a failure at the same moment replaces it.
    segments: list[Segment] = []
    for change in changes:
        if segments:
            last = segments.pop()
            if change.at > last.start and last.status == ComponentStatus.operational:
                windows.extend(_window(component_id, segments))
                segments = []
            elif change.at > last.start:  # at the same moment, the later change replaces it
                segments.append(Segment(last.start, change.at, last.status))
        if segments or change.status != ComponentStatus.operational:
            segments.append(Segment(change.at, None, change.status))
    if segments and segments[-1].status == ComponentStatus.operational:
        segments.pop()
    elif segments and resolved_at is not None:
        last = segments.pop()
        segments.append(Segment(last.start, max(resolved_at, last.start), last.status))
    windows.extend(_window(component_id, segments))
    return windows


def _window(component_id: int, segments: list[Segment]) -> list[ImpactWindow]:
    """One window from its segments, merging equal neighbours; none if nothing lasted."""
    merged: list[Segment] = []
    for segment in segments:
        if segment.end is not None and segment.end <= segment.start:
            continue
        if merged and merged[-1].status == segment.status and merged[-1].end == segment.start:
            merged[-1] = Segment(merged[-1].start, segment.end, segment.status)
        else:
            merged.append(segment)
    if not merged:
        return []
    return [ImpactWindow(component_id, merged[0].start, merged[-1].end, tuple(merged))]
