"""Which names are IANA time zones: `zoneinfo.ZoneInfo("Asia")` fails with an OS error (a
folder of the zone database, not a zone), so a name is checked against the list first. The
list is read once a process (walking the zone database takes ~15 ms)."""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str) -> bool:
    return name in _names()
