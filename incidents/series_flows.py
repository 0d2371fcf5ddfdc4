"""Recurring maintenance: create a series, turn its coming occurrences into ordinary maintenance
(which then announce, remind, start and complete as any other), cancel the whole series.

An occurrence is scheduled `lead_days` ahead, once: the unique (series, occurrence start) index
makes a repeated or concurrent expansion fail rather than double it. Cancelling one occurrence
is cancelling its maintenance; the rule never brings it back. One an edit of the series cancels
leaves its slot (its occurrence_start is cleared), so a later edit can bring that start back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents import maintenance_flows, recurrence, service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, NotFound
from incidents.common.snapshots import snapshot
from incidents.models import Maintenance, MaintenanceSeries, MaintenanceStatus, SeriesStatus
from incidents.schemas import MaintenanceCancelIn, MaintenanceIn, MaintenanceText
from incidents.series_schemas import NEXT_LISTED, OccurrenceOut, SeriesIn

_LISTED_PAST = 20


async def create_series(
    session: AsyncSession, *, data: SeriesIn, actor: Actor, zone: ZoneInfo
) -> MaintenanceSeries:
    """A series in the site's zone `zone`; its occurrences within `lead_days` are scheduled now."""
    language = data.language or actor.default_language
    service.check_translations(dict(data.translations), own_language=language)
    rule = recurrence.normalise(data.rrule)
    first_start = data.first_start.astimezone(UTC).replace(microsecond=0)
    recurrence.check_bounds(
        rule,
        first_start=first_start,
        zone=zone,
        duration=timedelta(minutes=data.duration_minutes),
        now=actor.now,
    )
    series = MaintenanceSeries(
        name=data.name,
        body=data.body,
        language=language,
        translations={
            lang: stored_text(text.name, text.body) for lang, text in data.translations.items()
        },
        rrule=rule,
        first_start=first_start,
        duration_minutes=data.duration_minutes,
        time_zone=zone.key,
        lead_days=data.lead_days,
        notify=data.notify,
        auto_start=data.auto_start,
        auto_complete=data.auto_complete,
        status=SeriesStatus.active,
        created_by=actor.staff_id,
        created_at=actor.now,
        components=await service.components_chosen(session, choice=data),
    )
    session.add(series)
    await session.flush()
    await audit_series(session, actor, "maintenance_series.create", series, None)
    await schedule_occurrences(session, series=series, actor=actor)
    return await get_series(session, series_id=series.id)


async def get_series(
    session: AsyncSession, *, series_id: int, lock: bool = False
) -> MaintenanceSeries:
    """The series; with `lock`, its row held (PostgreSQL) until the transaction ends, so
    cancelling it and scheduling its windows never interleave."""
    query = (
        select(MaintenanceSeries)
        .where(MaintenanceSeries.id == series_id)
        .options(selectinload(MaintenanceSeries.components))
        .execution_options(populate_existing=True)
    )
    series = await session.scalar(query.with_for_update() if lock else query)
    if series is None:
        raise NotFound(
            N_("maintenance series %(series_id)s does not exist"),
            field="series_id",
            series_id=series_id,
        )
    return series


async def list_series(
    session: AsyncSession, *, statuses: list[SeriesStatus] | None = None, limit: int = 100
) -> list[MaintenanceSeries]:
    query = select(MaintenanceSeries).options(selectinload(MaintenanceSeries.components))
    if statuses:
        query = query.where(MaintenanceSeries.status.in_(statuses))
    rows = await session.scalars(query.order_by(MaintenanceSeries.id.desc()).limit(limit))
    return list(rows)


async def occurrences_of(session: AsyncSession, *, series_id: int) -> list[Maintenance]:
    """The series' occurrences scheduled as maintenance so far, by the start the rule gave."""
    rows = await session.scalars(
        select(Maintenance)
        .where(Maintenance.series_id == series_id)
        .options(*service.maintenance_load_options())
        .order_by(Maintenance.occurrence_start)
    )
    return list(rows)


def _zone(series: MaintenanceSeries) -> ZoneInfo:
    return ZoneInfo(series.time_zone)


async def schedule_occurrences(
    session: AsyncSession, *, series: MaintenanceSeries, actor: Actor
) -> list[Maintenance]:
    """Schedules (and announces) each occurrence starting by now + lead_days that is not a
    maintenance yet; one running late by less than its duration still counts."""
    series = await get_series(session, series_id=series.id, lock=True)
    if series.status != SeriesStatus.active or not series.components:
        return []
    duration = timedelta(minutes=series.duration_minutes)
    wanted = starts_wanted(series, now=actor.now)
    made_already = set(
        await session.scalars(
            select(Maintenance.occurrence_start).where(Maintenance.series_id == series.id)
        )
    )
    made = []
    for start in wanted:
        if start not in made_already:
            made.append(await _occurrence(session, series, start, duration, actor))
    return made


def starts_wanted(series: MaintenanceSeries, *, now: datetime) -> list[datetime]:
    """The starts that have an occurrence now: up to now + lead_days, from now less one
    window (one running late still counts) but never before the series was made."""
    duration = timedelta(minutes=series.duration_minutes)
    return recurrence.starts_between(
        series.rrule,
        first_start=series.first_start,
        zone=_zone(series),
        after=max(now - duration, series.created_at),
        before=now + timedelta(days=series.lead_days),
    )


def stored_text(name: str | None, body: str) -> dict[str, str]:
    """A translation as stored: no title of its own falls back to the series' when shown."""
    return {"name": name, "body": body} if name else {"body": body}


async def _occurrence(
    session: AsyncSession,
    series: MaintenanceSeries,
    start: datetime,
    duration: timedelta,
    actor: Actor,
) -> Maintenance:
    data = MaintenanceIn(
        name=series.name,
        body=series.body,
        scheduled_for=start,
        scheduled_until=start + duration,
        component_ids=[component.id for component in series.components],
        notify=series.notify,
        auto_start=series.auto_start,
        auto_complete=series.auto_complete,
        language=series.language,
        translations={
            lang: MaintenanceText.model_validate(text) for lang, text in series.translations.items()
        },
    )
    maintenance = await maintenance_flows.create_maintenance(session, data=data, actor=actor)
    maintenance.series_id = series.id
    maintenance.occurrence_start = start
    await session.flush()
    return maintenance


async def schedule_due(session: AsyncSession, *, actor: Actor) -> list[str]:
    """The scheduler's step: every active series' occurrences now within its lead."""
    done = []
    for series in await list_series(session, statuses=[SeriesStatus.active], limit=10_000):
        for maintenance in await schedule_occurrences(session, series=series, actor=actor):
            done.append(f"maintenance series {series.id} scheduled maintenance {maintenance.id}")
    return done


def next_scheduling(series: MaintenanceSeries, *, now: datetime) -> datetime | None:
    """When the next occurrence not yet scheduled comes within the series' lead."""
    lead = timedelta(days=series.lead_days)
    start = recurrence.next_start(
        series.rrule, first_start=series.first_start, zone=_zone(series), after=now + lead
    )
    return None if start is None else start - lead


async def cancel_series(
    session: AsyncSession, *, series_id: int, data: MaintenanceCancelIn, actor: Actor
) -> MaintenanceSeries:
    """Stops the rule and cancels every occurrence not started yet (subscribers are told of
    each as of any cancelled maintenance); one in progress runs to its end."""
    series = await get_series(session, series_id=series_id, lock=True)
    if series.status == SeriesStatus.cancelled:
        raise Conflict(N_("the series is cancelled already"), field="series_id")
    before = snapshot(series)
    series.status = SeriesStatus.cancelled
    series.cancelled_at = actor.now
    for maintenance in await occurrences_of(session, series_id=series_id):
        if maintenance.status == MaintenanceStatus.scheduled:
            await maintenance_flows.cancel_maintenance(
                session, maintenance_id=maintenance.id, data=data, actor=actor
            )
    await audit_series(session, actor, "maintenance_series.cancel", series, before)
    return await get_series(session, series_id=series_id)


def outline(
    series: MaintenanceSeries, occurrences: list[Maintenance], *, now: datetime
) -> list[OccurrenceOut]:
    """The latest occurrences scheduled so far, then the next ones the rule will bring."""
    listed = [
        OccurrenceOut(
            start=item.scheduled_for,
            end=item.scheduled_until,
            maintenance_id=item.id,
            status=item.status,
        )
        for item in occurrences[-_LISTED_PAST:]
    ]
    if series.status != SeriesStatus.active:
        return listed
    made = {item.occurrence_start for item in occurrences}
    after = max([now, *(start for start in made if start is not None)])
    duration = timedelta(minutes=series.duration_minutes)
    coming = recurrence.upcoming(
        series.rrule, first_start=series.first_start, zone=_zone(series), after=after,
        count=NEXT_LISTED + 1,
    )  # fmt: skip
    listed += [
        OccurrenceOut(start=start, end=start + duration, maintenance_id=None, status=None)
        for start in coming
        if start not in made
    ][:NEXT_LISTED]
    return listed


async def audit_series(
    session: AsyncSession,
    actor: Actor,
    action: str,
    series: MaintenanceSeries,
    before: dict[str, object] | None,
) -> None:
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action=action,
        entity_type="maintenance_series",
        entity_id=series.id,
        before=before,
        after=snapshot(series),
    )
