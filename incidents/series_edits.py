"""Editing a recurring maintenance: its texts, components, rule, time of day, duration and time
zone change; the occurrences already started or past stay as they were, and those not started
yet follow the new rule.

The scheduled occurrences whose start the new rule keeps are edited in place. Each one the rule
drops is moved to the nearest start the rule adds (subscribers hear of it as of any rescheduled
maintenance), and cancelled when the new rule has fewer windows ahead. An occurrence cancelled
by hand stays cancelled: the rule does not bring its start back. The windows the new rule adds
beyond those are scheduled as for a new series.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import maintenance_flows, recurrence, series_flows, service
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, InvalidInput
from incidents.common.snapshots import snapshot
from incidents.models import Maintenance, MaintenanceSeries, MaintenanceStatus, SeriesStatus
from incidents.schemas import BodyText, MaintenanceCancelIn, MaintenancePatch, NameText
from incidents.series_schemas import SeriesPatch


async def edit_series(
    session: AsyncSession,
    *,
    series_id: int,
    data: SeriesPatch,
    actor: Actor,
    dropped: dict[str, str],
) -> MaintenanceSeries:
    """Applies the edit; `dropped` is the message, by language, of an occurrence the new rule
    cancels."""
    series = await series_flows.get_series(session, series_id=series_id, lock=True)
    if series.status != SeriesStatus.active:
        raise Conflict(N_("a cancelled series can no longer be changed"), field="series_id")
    before = snapshot(series)
    _texts(series, data)
    _timing(series, data, actor)
    if (choice := data.chosen()) is not None:
        series.components = await service.components_chosen(session, choice=choice)
    await session.flush()
    await _follow(session, series, actor, dropped)
    await series_flows.audit_series(session, actor, "maintenance_series.edit", series, before)
    await series_flows.schedule_occurrences(session, series=series, actor=actor)
    return await series_flows.get_series(session, series_id=series.id)


def _texts(series: MaintenanceSeries, data: SeriesPatch) -> None:
    if data.name is not None:
        series.name = data.name
    if data.body is not None:
        series.body = data.body
    if data.translations is not None:
        service.check_translations(dict(data.translations), own_language=series.language)
        series.translations = {
            lang: {"name": text.name or series.name, "body": text.body}
            for lang, text in data.translations.items()
        }
    if data.auto_start is not None:
        series.auto_start = data.auto_start
    if data.auto_complete is not None:
        series.auto_complete = data.auto_complete


def _timing(series: MaintenanceSeries, data: SeriesPatch, actor: Actor) -> None:
    """The new rule, start, duration and zone, checked together as a new series' are."""
    timing = (data.rrule, data.first_start, data.duration_minutes, data.time_zone)
    if all(value is None for value in timing):
        return
    rule = recurrence.normalise(data.rrule) if data.rrule is not None else series.rrule
    first_start = (
        data.first_start.astimezone(UTC).replace(microsecond=0)
        if data.first_start is not None
        else series.first_start
    )
    duration = data.duration_minutes or series.duration_minutes
    zone = zone_named(data.time_zone or series.time_zone)
    recurrence.check_bounds(
        rule,
        first_start=first_start,
        zone=zone,
        duration=timedelta(minutes=duration),
        now=actor.now,
    )
    series.rrule, series.first_start = rule, first_start
    series.duration_minutes, series.time_zone = duration, zone.key


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of that name, or a 422 naming `time_zone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            N_("%(zone)s is not a time zone, e.g. Asia/Shanghai"), field="time_zone", zone=name
        ) from error


async def _follow(
    session: AsyncSession, series: MaintenanceSeries, actor: Actor, dropped: dict[str, str]
) -> None:
    """The occurrences not started yet, made to follow the series as it now is."""
    occurrences = await series_flows.occurrences_of(session, series_id=series.id)
    coming = [
        item
        for item in occurrences
        if item.status == MaintenanceStatus.scheduled and item.scheduled_for > actor.now
    ]
    held = {item.occurrence_start for item in occurrences if item not in coming}
    wanted = [
        start
        for start in recurrence.starts_between(
            series.rrule,
            first_start=series.first_start,
            zone=ZoneInfo(series.time_zone),
            after=actor.now,
            before=actor.now + timedelta(days=series.lead_days),
        )
        if start not in held
    ]
    kept = {item.occurrence_start: item for item in coming if item.occurrence_start in wanted}
    moved = [item for item in coming if item.occurrence_start not in kept]
    added = [start for start in wanted if start not in kept]
    for item in kept.values():
        await _follow_one(session, series, item, actor)
    left = list(added)
    for item in list(moved):
        if not left:
            break
        moved.remove(item)
        nearest = min(left, key=lambda start: abs(start - (item.occurrence_start or start)))
        left.remove(nearest)
        item.occurrence_start = nearest
        await _follow_one(session, series, item, actor)
    own = series.language
    note = MaintenanceCancelIn(
        body=dropped[own],
        notify=series.notify,
        language=own,
        translations={lang: BodyText(body=body) for lang, body in dropped.items() if lang != own},
    )
    for item in moved:
        await maintenance_flows.cancel_maintenance(
            session, maintenance_id=item.id, data=note, actor=actor
        )


async def _follow_one(
    session: AsyncSession, series: MaintenanceSeries, item: Maintenance, actor: Actor
) -> None:
    """One scheduled occurrence takes the series' texts, components and window (at its
    `occurrence_start`); a new window is announced as a rescheduled maintenance."""
    start = item.occurrence_start
    assert start is not None  # an occurrence of a series always has its start
    announcement = min(item.updates, key=lambda update: (update.display_at, update.id))
    announcement.body = series.body
    announcement.translations = {
        lang: {"body": text["body"]} for lang, text in series.translations.items()
    }
    patch = MaintenancePatch(
        name=series.name,
        scheduled_for=start,
        scheduled_until=start + timedelta(minutes=series.duration_minutes),
        component_ids=[component.id for component in series.components] or None,
        translations={
            lang: NameText(name=text["name"]) for lang, text in series.translations.items()
        },
        auto_start=series.auto_start,
        auto_complete=series.auto_complete,
        notify=series.notify,
    )
    await maintenance_flows.edit_maintenance(
        session, maintenance_id=item.id, data=patch, actor=actor
    )
