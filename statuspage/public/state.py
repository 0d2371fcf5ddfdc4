"""What the public sees, loaded once per change: every public surface renders from this."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents import publication, rules, service
from incidents.broadcasting import outbox
from incidents.broadcasting.rules import parse_cadence, progress_due
from incidents.common.db_types import utcnow
from incidents.detection import service as detection
from incidents.models import (
    Component,
    ComponentChange,
    ComponentGroup,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Indicator,
    Maintenance,
    MaintenanceSeries,
    MaintenanceStatus,
)
from statuspage.site import Site

UPTIME_DAYS = 90
_NOT_DOWN = frozenset({ComponentStatus.operational, ComponentStatus.under_maintenance})


@dataclass(frozen=True)
class PublicState:
    """Published state only: drafts never appear here.

    `incidents` holds every unresolved incident plus every incident that started or was
    resolved in the last `UPTIME_DAYS` days (at least `recent` of them), newest first, with
    updates, component changes and components loaded. `maintenances` holds the scheduled and
    active ones plus recent completed ones, soonest first; cancelled ones are left out (the
    calendar's `cancelled` holds the recent ones).
    """

    site: Site
    now: datetime
    version: int
    updated_at: datetime
    indicator: Indicator
    groups: list[ComponentGroup]
    components: list[Component]
    incidents: list[Incident]
    maintenances: list[Maintenance]
    # When the next update on each open incident is due (its progress cadence).
    next_updates: dict[int, datetime] = field(default_factory=dict)
    # Recently cancelled maintenance: only the calendar lists it (as CANCELLED).
    cancelled: list[Maintenance] = field(default_factory=list)
    # Recurring maintenance, for the calendar (one event with its RRULE each), and per series
    # the rule's start of each occurrence cancelled or moved (its EXDATEs).
    series: list[MaintenanceSeries] = field(default_factory=list)
    series_exdates: dict[int, list[datetime]] = field(default_factory=dict)
    # Incidents detection opened on which no staff member has posted yet: marked automatic.
    automatic: frozenset[int] = frozenset()

    @property
    def headline(self) -> str:
        """The catalogue key of what the page says about the whole site (banner, badge).

        While every open incident is being monitored and no component is down any more, the
        indicator still carries the incidents' impact (as Statuspage's API does), but the page
        says the site is recovering: "partial outage" over a list of working components read
        as two stories."""
        if self.recovering:
            return "indicator.recovering"
        return f"indicator.{self.indicator.value}"

    @property
    def recovering(self) -> bool:
        open_incidents = self.unresolved
        return (
            bool(open_incidents)
            and all(i.status == IncidentStatus.monitoring for i in open_incidents)
            and all(c.status in _NOT_DOWN for c in self.components)
        )

    @property
    def watched(self) -> frozenset[int]:
        """Working components an incident being monitored lists: they are recovering."""
        return frozenset(
            c.id
            for incident in self.unresolved
            if incident.status == IncidentStatus.monitoring
            for c in incident.components
            if c.status == ComponentStatus.operational
        )

    @property
    def unresolved(self) -> list[Incident]:
        return [incident for incident in self.incidents if rules.is_open(incident.status)]

    @property
    def upcoming(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status == MaintenanceStatus.scheduled]

    @property
    def active_maintenance(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status in rules.ACTIVE_MAINTENANCE_STATUSES]

    def component(self, component_id: int) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)

    @cached_property
    def _shown(self) -> frozenset[int]:
        return frozenset(c.id for c in self.components)

    def listed(self, components: Iterable[Component]) -> list[Component]:
        """Those of an incident's or a maintenance's components the public sees (not hidden)."""
        return [c for c in components if c.id in self._shown]

    def changes(self, update: IncidentUpdate) -> list[ComponentChange]:
        """What an update set of the components the public sees."""
        return [ch for ch in update.component_changes if ch.component_id in self._shown]


async def load(
    session: AsyncSession, *, site: Site, now: datetime | None = None, recent: int = 50
) -> PublicState:
    now = now or utcnow()
    version, updated_at = await publication.current(session)
    # A hidden component is on no public surface: every one reads the state's components.
    components = [c for c in await service.list_components(session) if not c.hidden]
    incidents = await _incidents(session, now=now, recent=recent)
    maintenances = await _maintenances(session, now=now, recent=recent)
    indicator = rules.page_indicator(
        open_incident_impacts=[i.impact for i in incidents if rules.is_open(i.status)],
        component_statuses=[c.status for c in components],
        maintenance_in_progress=any(
            m.status in rules.ACTIVE_MAINTENANCE_STATUSES for m in maintenances
        ),
    )
    series, exdates = await _series(session, recent=recent)
    return PublicState(
        site=site,
        now=now,
        version=version,
        updated_at=updated_at,
        indicator=indicator,
        groups=await service.list_groups(session),
        components=components,
        incidents=incidents,
        maintenances=maintenances,
        next_updates=await _next_updates(session, incidents, site),
        cancelled=await _cancelled(session, recent=recent),
        series=series,
        series_exdates=exdates,
        automatic=await _automatic(session, incidents),
    )


async def _automatic(session: AsyncSession, incidents: list[Incident]) -> frozenset[int]:
    """Opened by the system for an alert, and no person has posted on it since."""
    unattended = [
        incident.id
        for incident in incidents
        if incident.created_by is None and all(u.author_id is None for u in incident.updates)
    ]
    return frozenset(await detection.opened_by_detection(session, incident_ids=unattended))


async def _next_updates(
    session: AsyncSession, incidents: list[Incident], site: Site
) -> dict[int, datetime]:
    cadence = parse_cadence(site.progress_cadence)
    open_incidents = [incident for incident in incidents if rules.is_open(incident.status)]
    due = {}
    for incident_id, notice in (await outbox.last_notices(session, open_incidents)).items():
        moment = progress_due(notice, cadence)
        if moment is not None:
            due[incident_id] = moment
    return due


async def _incidents(session: AsyncSession, *, now: datetime, recent: int) -> list[Incident]:
    since = now - timedelta(days=UPTIME_DAYS + 1)
    published = Incident.draft.is_(False)
    window = await session.scalars(
        select(Incident)
        .where(
            published,
            or_(
                Incident.status.in_(rules.OPEN_INCIDENT_STATUSES),
                Incident.started_at >= since,
                Incident.resolved_at >= since,
            ),
        )
        .options(*service.incident_load_options())
    )
    found = {incident.id: incident for incident in window.all()}
    if len(found) < recent:
        older = await session.scalars(
            select(Incident)
            .where(published)
            .order_by(Incident.started_at.desc(), Incident.id.desc())
            .limit(recent)
            .options(*service.incident_load_options())
        )
        found.update({incident.id: incident for incident in older.all()})
    return sorted(found.values(), key=lambda i: (i.started_at, i.id), reverse=True)


async def _maintenances(session: AsyncSession, *, now: datetime, recent: int) -> list[Maintenance]:
    options = service.maintenance_load_options()
    published = Maintenance.draft.is_(False)
    pending = await session.scalars(
        select(Maintenance)
        .where(
            published,
            Maintenance.status.in_(
                [MaintenanceStatus.scheduled, *rules.ACTIVE_MAINTENANCE_STATUSES]
            ),
        )
        .options(*options)
    )
    done = await session.scalars(
        select(Maintenance)
        .where(published, Maintenance.status == MaintenanceStatus.completed)
        .order_by(Maintenance.scheduled_for.desc())
        .limit(recent)
        .options(*options)
    )
    found = {item.id: item for item in [*pending.all(), *done.all()]}
    return sorted(found.values(), key=lambda m: (m.scheduled_for, m.id))


async def _cancelled(session: AsyncSession, *, recent: int) -> list[Maintenance]:
    found = await session.scalars(
        select(Maintenance)
        .where(Maintenance.draft.is_(False), Maintenance.status == MaintenanceStatus.cancelled)
        .order_by(Maintenance.scheduled_for.desc())
        .limit(recent)
        .options(*service.maintenance_load_options())
    )
    return sorted(found.all(), key=lambda m: (m.scheduled_for, m.id))


async def _series(
    session: AsyncSession, *, recent: int
) -> tuple[list[MaintenanceSeries], dict[int, list[datetime]]]:
    found = list(
        await session.scalars(
            select(MaintenanceSeries)
            .order_by(MaintenanceSeries.id.desc())
            .limit(recent)
            .options(selectinload(MaintenanceSeries.components))
        )
    )
    durations = {series.id: timedelta(minutes=series.duration_minutes) for series in found}
    occurrences = await session.execute(
        select(
            Maintenance.series_id,
            Maintenance.occurrence_start,
            Maintenance.scheduled_for,
            Maintenance.scheduled_until,
            Maintenance.status,
        ).where(Maintenance.series_id.in_(list(durations)))
    )
    exdates: dict[int, list[datetime]] = {}
    for series_id, start, begins, ends, status in occurrences.all():
        if series_id is None or start is None:
            continue
        moved = (begins, ends) != (start, start + durations[series_id])
        if moved or status == MaintenanceStatus.cancelled:
            exdates.setdefault(series_id, []).append(start)
    return found[::-1], exdates
