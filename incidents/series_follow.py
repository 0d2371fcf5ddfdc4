"""How the occurrences of a series follow an edit of it.

A new timing or new components: each occurrence is paired with the new rule's nearest start
(the same start where the rule keeps it; see `recurrence.pair_nearest`). A scheduled one not
started yet takes the new window only if it still has the series' old window (one staff moved
by hand keeps its own), and new components only if it still has the old ones; either way it
now holds the new start, so a day cancelled by hand stays cancelled whatever the new time of
day. One the new rule has no start near is cancelled (subscribers are told) and leaves its
slot, so a later edit can bring that day back. A window the new rule adds that has begun already is
refused rather than announced as a maintenance under way.

New texts (or automatic start and completion) reach the occurrences not started yet that still
have the old ones, without a rescheduling notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import maintenance_flows, recurrence, series_flows
from incidents.common.actor import Actor
from incidents.common.errors import N_, InvalidInput
from incidents.models import Maintenance, MaintenanceSeries, MaintenanceStatus, MaintenanceUpdate
from incidents.schemas import BodyText, MaintenanceCancelIn, MaintenancePatch


@dataclass(frozen=True)
class Was:
    """What a series was before an edit, as its occurrences were made from it."""

    timing: tuple[str, datetime, int, str]
    component_ids: tuple[int, ...]
    texts: tuple[Any, ...]
    auto: tuple[bool, bool]

    @classmethod
    def of(cls, series: MaintenanceSeries) -> Was:
        return cls(
            timing=(series.rrule, series.first_start, series.duration_minutes, series.time_zone),
            component_ids=tuple(sorted(component.id for component in series.components)),
            texts=_texts(series.name, series.body, series.translations),
            auto=(series.auto_start, series.auto_complete),
        )


def _texts(name: str, body: str, translations: dict[str, Any]) -> tuple[Any, ...]:
    return name, body, sorted((lang, text.get("name"), text.get("body"))
                              for lang, text in translations.items())  # fmt: skip


def _announcement(item: Maintenance) -> MaintenanceUpdate:
    return min(item.updates, key=lambda update: (update.display_at, update.id))


def _texts_of(item: Maintenance) -> tuple[Any, ...]:
    first = _announcement(item)
    languages = set(item.translations) | set(first.translations)
    merged = {
        lang: {
            "name": item.translations.get(lang, {}).get("name"),
            "body": first.translations.get(lang, {}).get("body"),
        }
        for lang in languages
    }
    return _texts(item.name, first.body, merged)


def _coming(item: Maintenance, now: datetime) -> bool:
    return item.status == MaintenanceStatus.scheduled and item.scheduled_for > now


async def follow_timing(
    session: AsyncSession,
    series: MaintenanceSeries,
    was: Was,
    actor: Actor,
    dropped: dict[str, str],
) -> None:
    occurrences = await series_flows.occurrences_of(session, series_id=series.id)
    held = [item for item in occurrences if item.occurrence_start is not None]
    wanted = series_flows.starts_wanted(series, now=actor.now)
    old = [item.occurrence_start for item in held if item.occurrence_start is not None]
    pairs = recurrence.pair_nearest(old, _candidates(series, old, wanted, actor.now))
    begun = sorted(set(wanted) - set(pairs.values()))
    if begun and begun[0] <= actor.now:
        raise InvalidInput(
            N_("the new rule adds a window at %(start)s that has begun already"),
            field="first_start",
            start=begun[0].isoformat(),
        )
    for index, item in enumerate(held):
        if index in pairs:
            await _follow_one(session, series, was, item, pairs[index], actor)
        elif _coming(item, actor.now):
            await _drop(session, series, item, actor, dropped)


def _candidates(
    series: MaintenanceSeries, old: list[datetime], wanted: list[datetime], now: datetime
) -> list[datetime]:
    """The new rule's starts an occurrence may be paired with: those wanted now, and those
    before them back to a month before the earliest occurrence held (an earlier time of day
    already past today pairs with today's window, which keeps its own time)."""
    if not old:
        return wanted
    earlier = recurrence.starts_between(
        series.rrule,
        first_start=series.first_start,
        zone=ZoneInfo(series.time_zone),
        after=min(old) - timedelta(days=32),
        before=now,
    )
    return sorted(set(earlier) | set(wanted))


async def _follow_one(
    session: AsyncSession,
    series: MaintenanceSeries,
    was: Was,
    item: Maintenance,
    start: datetime,
    actor: Actor,
) -> None:
    """The occurrence now holds `start`; if not started, it takes the new window where it
    still has the old one, and the new components where it still has the old ones."""
    old_start = item.occurrence_start
    assert old_start is not None  # only occurrences holding a start are paired
    item.occurrence_start = start
    if not _coming(item, actor.now):
        return
    by_rule = (item.scheduled_for, item.scheduled_until) == (
        old_start,
        old_start + timedelta(minutes=was.timing[2]),
    )
    retime = by_rule and start > actor.now
    components = tuple(sorted(component.id for component in item.components))
    new_ids = tuple(sorted(component.id for component in series.components))
    recompose = components == was.component_ids and new_ids != was.component_ids and bool(new_ids)
    if not (retime or recompose):
        return
    patch = MaintenancePatch(
        scheduled_for=start if retime else None,
        scheduled_until=start + timedelta(minutes=series.duration_minutes) if retime else None,
        component_ids=[component.id for component in series.components] if recompose else None,
        notify=series.notify,
    )
    await maintenance_flows.edit_maintenance(
        session, maintenance_id=item.id, data=patch, actor=actor
    )


async def _drop(
    session: AsyncSession,
    series: MaintenanceSeries,
    item: Maintenance,
    actor: Actor,
    dropped: dict[str, str],
) -> None:
    """Cancelled by the edit: subscribers are told, and the start is free for the rule again."""
    own = series.language
    note = MaintenanceCancelIn(
        body=dropped[own],
        notify=series.notify,
        language=own,
        translations={lang: BodyText(body=body) for lang, body in dropped.items() if lang != own},
    )
    await maintenance_flows.cancel_maintenance(
        session, maintenance_id=item.id, data=note, actor=actor
    )
    item.occurrence_start = None
    await session.flush()


async def follow_texts(
    session: AsyncSession, series: MaintenanceSeries, was: Was, actor: Actor
) -> None:
    """The occurrences not started yet that still read as the series did take its new texts;
    those that still start and complete as it did take its new automatic start and end."""
    for item in await series_flows.occurrences_of(session, series_id=series.id):
        if item.occurrence_start is None or not _coming(item, actor.now):
            continue
        retext = _texts_of(item) == was.texts
        if retext:
            first = _announcement(item)
            first.body = series.body
            first.translations = {
                lang: {"body": text["body"]} for lang, text in series.translations.items()
            }
            item.translations = {
                lang: {"name": text["name"]}
                for lang, text in series.translations.items()
                if text.get("name")
            }
        same = (item.auto_start, item.auto_complete) == was.auto
        if not retext and not (same and (series.auto_start, series.auto_complete) != was.auto):
            continue  # its own texts and its own automation: nothing to write, or audit
        patch = MaintenancePatch(
            name=series.name if retext else None,
            auto_start=series.auto_start if same else None,
            auto_complete=series.auto_complete if same else None,
        )
        await maintenance_flows.edit_maintenance(
            session, maintenance_id=item.id, data=patch, actor=actor
        )
