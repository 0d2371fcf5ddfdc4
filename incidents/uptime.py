"""Daily outage minutes and uptime per component, from the impact windows of incidents."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from incidents.models import ComponentStatus
from incidents.rules import ImpactWindow, Segment, worst_component_status

# Statuspage's convention: a partial outage counts as 30% down, degraded performance as up.
_DOWN_WEIGHT = {
    ComponentStatus.major_outage: 1.0,
    ComponentStatus.partial_outage: 0.3,
}


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    seconds: dict[ComponentStatus, float]
    has_data: bool = True

    @property
    def worst(self) -> ComponentStatus:
        return worst_component_status(s for s, seconds in self.seconds.items() if seconds > 0)

    def minutes(self, status: ComponentStatus) -> int:
        return round(self.seconds.get(status, 0.0) / 60)


def flatten(windows: Iterable[ImpactWindow], *, until: datetime) -> list[Segment]:
    """Non-overlapping segments: where incidents overlap, the worst status counts once."""
    segments = [
        Segment(s.start, s.end if s.end is not None else until, s.status)
        for window in windows
        for s in window.segments
    ]
    points = sorted({p for s in segments for p in (s.start, s.end) if p is not None})
    flat: list[Segment] = []
    for start, end in itertools.pairwise(points):
        covering = [
            s.status for s in segments if s.start <= start and s.end is not None and s.end >= end
        ]
        if not covering:
            continue
        status = worst_component_status(covering)
        if flat and flat[-1].end == start and flat[-1].status == status:
            flat[-1] = Segment(flat[-1].start, end, status)
        else:
            flat.append(Segment(start, end, status))
    return flat


def outage_seconds(
    windows: Iterable[ImpactWindow],
    *,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    now: datetime,
) -> dict[date, dict[ComponentStatus, float]]:
    """Seconds per outage level for the local days in [first_day, last_day] that had any."""
    seconds: dict[date, dict[ComponentStatus, float]] = {}
    for segment in flatten(windows, until=now):
        _spread(segment, seconds, zone=zone, first_day=first_day, last_day=last_day)
    return seconds


def _spread(
    segment: Segment,
    seconds: dict[date, dict[ComponentStatus, float]],
    *,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
) -> None:
    """Adds a segment's seconds to each local day it touches within [first_day, last_day]."""
    assert segment.end is not None
    day = max(segment.start.astimezone(zone).date(), first_day)
    final = min(segment.end.astimezone(zone).date(), last_day)
    while day <= final:
        start, end = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
        overlap = (min(segment.end, end) - max(segment.start, start)).total_seconds()
        if overlap > 0:
            levels = seconds.setdefault(day, {})
            levels[segment.status] = levels.get(segment.status, 0.0) + overlap
        day += timedelta(days=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def uptime_percent(measured: list[Day]) -> float | None:
    """Share of time up over the days that have data, as a percentage (for display only)."""
    with_data = [day for day in measured if day.has_data]
    if not with_data:
        return None
    down = sum(
        seconds * _DOWN_WEIGHT.get(status, 0.0)
        for day in with_data
        for status, seconds in day.seconds.items()
    )
    return 100.0 * (1 - down / (len(with_data) * 86_400))
