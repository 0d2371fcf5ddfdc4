"""Recurring maintenance windows: an RFC 5545 RRULE read in the site's time zone, so 02:00
local stays 02:00 across daylight saving, and the bounds that keep a series from flooding the
page (pure: no I/O)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from incidents.common import zones
from incidents.common.errors import N_, InvalidInput

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_A_YEAR = 366  # at most one window a day on average
_PARTS = {
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
}  # fmt: skip


def normalise(text: str) -> str:
    """The rule as stored and written to .ics: upper case, no `RRULE:` prefix, or a 422."""
    rule = text.strip().upper().removeprefix("RRULE:")
    if not rule or any(mark in rule for mark in "\r\n:"):
        raise InvalidInput(N_("one RRULE line, e.g. FREQ=WEEKLY;BYDAY=TU"), field="rrule")
    parts = dict(part.partition("=")[::2] for part in rule.split(";"))
    unknown = sorted(set(parts) - _PARTS)
    if unknown:
        raise InvalidInput(N_("%(part)s is not an RRULE part"), field="rrule", part=unknown[0])
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidInput(N_("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"), field="rrule")
    return rule


def _rule(rule: str, first_start: datetime, zone: ZoneInfo) -> Any:
    try:
        return rrulestr(rule, dtstart=first_start.astimezone(zone))
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidInput(
            N_("not a valid RRULE: %(error)s"), field="rrule", error=str(error)
        ) from error


def starts(rule: str, *, first_start: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Every occurrence's start in UTC, first to last (a rule without COUNT or UNTIL goes on)."""
    for local in _rule(rule, first_start, zone):
        yield local.astimezone(UTC)


def starts_between(
    rule: str, *, first_start: datetime, zone: ZoneInfo, after: datetime, before: datetime
) -> list[datetime]:
    """The starts from `after` to `before`, both included, in UTC."""
    found = _rule(rule, first_start, zone).between(after, before, inc=True)
    return [moment.astimezone(UTC) for moment in found]


def next_start(
    rule: str, *, first_start: datetime, zone: ZoneInfo, after: datetime
) -> datetime | None:
    """The first start strictly after `after`, or None when the rule has ended."""
    found = _rule(rule, first_start, zone).after(after)
    return None if found is None else found.astimezone(UTC)


def check_bounds(
    rule: str, *, first_start: datetime, zone: ZoneInfo, duration: timedelta, now: datetime
) -> None:
    """A series makes at most MAX_A_YEAR windows in its first year, that do not overlap, and at
    least one still to come; otherwise a 422 naming `rrule` or `duration_minutes`."""
    first = list(itertools.islice(starts(rule, first_start=first_start, zone=zone), MAX_A_YEAR + 1))
    if not first:
        raise InvalidInput(N_("the rule makes no occurrence"), field="rrule")
    if len(first) > MAX_A_YEAR and first[-1] < first[0] + timedelta(days=366):
        raise InvalidInput(
            N_("the rule makes more than %(most)s occurrences a year"),
            field="rrule",
            most=MAX_A_YEAR,
        )
    if next_start(rule, first_start=first_start, zone=zone, after=now - duration) is None:
        raise InvalidInput(N_("the rule makes no occurrence after now"), field="rrule")
    gaps = [later - earlier for earlier, later in itertools.pairwise(first)]
    if gaps and duration > min(gaps):
        minutes = int(min(gaps) / timedelta(minutes=1))
        raise InvalidInput(
            N_("longer than the %(minutes)s minutes between two occurrences: they would overlap"),
            field="duration_minutes",
            minutes=minutes,
        )


def upcoming(
    rule: str, *, first_start: datetime, zone: ZoneInfo, after: datetime, count: int
) -> list[datetime]:
    """The next `count` starts at or after `after`, in UTC."""
    found = _rule(rule, first_start, zone).xafter(after, count=count, inc=True)
    return [moment.astimezone(UTC) for moment in found]


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of that name, or a 422 naming `time_zone` (a folder such as `Asia`
    or an over-long name is no zone either)."""
    if not zones.is_zone(name):
        raise InvalidInput(
            N_("%(zone)s is not a time zone, e.g. Asia/Shanghai"), field="time_zone", zone=name[:64]
        )
    return ZoneInfo(name)


def pair_nearest(old: list[datetime], new: list[datetime]) -> dict[int, datetime]:
    """Each old start (by its index) paired with a new one: the same start where the new rule
    keeps it, else the nearest new start not yet taken that lies less than half the new
    rule's shortest gap away (a daily rule: within 12 h; weekly: 3.5 days), the later on a
    tie. Nearness, not the calendar date: 23:30 moved to 00:30 is an hour later, not another
    day, and it holds across a change of zone. A start left unpaired has no counterpart."""
    ordered = sorted(set(new))
    kept = set(old) & set(ordered)
    pairs = {index: start for index, start in enumerate(old) if start in kept}
    free = [start for start in ordered if start not in kept]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    reach = min(gaps) / 2 if gaps else timedelta(hours=12)
    for index in sorted(set(range(len(old))) - set(pairs), key=lambda at: old[at]):
        near = [start for start in free if abs(start - old[index]) < reach]
        if near:
            best = min(near, key=lambda start: (abs(start - old[index]), -start.timestamp()))
            pairs[index] = best
            free.remove(best)
    return pairs
