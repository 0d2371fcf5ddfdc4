"""Editing a recurring maintenance: its texts, components, rule, time of day, duration and time
zone change; the occurrences already started or past stay as they were, and those not started
yet follow what changed (see `series_follow`).

An edit that keeps the timing and the components moves no occurrence; one that keeps the texts
rewrites none. The console posts every field, so "changed" is judged by value, not by presence.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import recurrence, series_flows, series_follow, service
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict
from incidents.common.snapshots import snapshot
from incidents.models import MaintenanceSeries, SeriesStatus
from incidents.series_schemas import SeriesPatch

zone_named = recurrence.zone_named


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
    was = series_follow.Was.of(series)
    _texts(series, data)
    _timing(series, data, actor)
    if (choice := data.chosen()) is not None:
        series.components = await service.components_chosen(session, choice=choice)
    await session.flush()
    now = series_follow.Was.of(series)
    if now.timing != was.timing or now.component_ids != was.component_ids:
        await series_follow.follow_timing(session, series, was, actor, dropped)
    if (now.texts, now.auto) != (was.texts, was.auto):
        await series_follow.follow_texts(session, series, was, actor)
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
            lang: series_flows.stored_text(text.name, text.body)
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
    first_start = series.first_start
    sent = data.first_start.astimezone(UTC) if data.first_start is not None else None
    # To the minute, as the console shows it: a series made with seconds keeps its own start
    # when the same minute comes back (else each window would move by those seconds).
    if sent is not None and sent != first_start.replace(second=0, microsecond=0):
        first_start = sent.replace(microsecond=0)
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
