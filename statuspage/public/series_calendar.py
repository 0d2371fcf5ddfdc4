"""Recurring maintenance in the iCalendar feed: one VEVENT per series with its RRULE, EXDATEs
for the occurrences cancelled or moved (a moved one is listed as its own event), and a cancelled
series' rule cut at the moment it was cancelled, so the windows that took place stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from incidents.models import Maintenance, MaintenanceSeries, SeriesStatus
from statuspage.i18n import localized, localized_name, t
from statuspage.public.state import PublicState

if TYPE_CHECKING:
    from icalendar import Event

__all__ = ["covered_by_series", "series_events"]


def covered_by_series(state: PublicState, item: Maintenance) -> bool:
    """An occurrence still in its rule's slot: its series' event shows it."""
    series = next((s for s in state.series if s.id == item.series_id), None)
    if series is None or item.occurrence_start is None:
        return False  # not an occurrence, or of a series too old to be listed
    start, duration = item.occurrence_start, timedelta(minutes=series.duration_minutes)
    return (item.scheduled_for, item.scheduled_until) == (start, start + duration)


def series_events(state: PublicState, language: str) -> list[Event]:
    return [_event(state, series, language) for series in state.series]


def _event(state: PublicState, series: MaintenanceSeries, language: str) -> Event:
    from icalendar import Event, vRecur

    zone = ZoneInfo(series.time_zone)
    host = urlsplit(state.site.url).hostname or "localhost"
    start = series.first_start.astimezone(zone)
    event = Event()
    event.add("uid", f"maintenance-series-{series.id}@{host}")
    event.add("dtstamp", series.updated_at.astimezone(UTC))
    event.add("last-modified", series.updated_at.astimezone(UTC))
    event.add("sequence", max(0, int((series.updated_at - series.created_at).total_seconds())))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=series.duration_minutes))
    rule = vRecur.from_ical(series.rrule)
    if series.status == SeriesStatus.cancelled and series.cancelled_at is not None:
        _cut(rule, series.cancelled_at)
    event.add("rrule", rule)
    exdates = sorted(state.series_exdates.get(series.id, []))
    if exdates:
        event.add("exdate", [moment.astimezone(zone) for moment in exdates])
    event.add("summary", " ".join(localized(series, "name", language)[0].split()))
    event.add("description", _description(series, language))
    event.add("url", state.site.url.rstrip("/") + "/")
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event


def _cut(rule: dict[str, object], cancelled_at: datetime) -> None:
    """The rule ends when the series was cancelled (COUNT and UNTIL never go together)."""
    until = rule.get("UNTIL")
    ends = until[0] if isinstance(until, list) and until else None
    if isinstance(ends, datetime) and ends.tzinfo is not None and ends <= cancelled_at:
        return
    rule.pop("COUNT", None)
    rule["UNTIL"] = [cancelled_at.astimezone(UTC).replace(microsecond=0)]


def _description(series: MaintenanceSeries, language: str) -> str:
    body = localized(series, "body", language)[0]
    if not series.components:
        return body
    names = t(language, "feed.list_separator").join(
        localized_name(component, language) for component in series.components
    )
    return f"{body}\n\n{t(language, 'feed.affected', components=names)}"
