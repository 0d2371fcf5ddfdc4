"""Dates and times as each language's readers expect them, in the site's zone with its offset."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from statuspage import i18n

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 16:30 UTC on 28 February is already half past midnight on 1 March in Shanghai.
ACROSS_MIDNIGHT = datetime(2026, 2, 28, 16, 30, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "language", "expected"),
    [
        (ACROSS_MIDNIGHT, SHANGHAI, "en", "2026-03-01 00:30 (UTC+08:00)"),
        (ACROSS_MIDNIGHT, SHANGHAI, "zh-CN", "2026年3月1日 00:30 (UTC+08:00)"),
        (NOVEMBER, ZoneInfo("UTC"), "en", "2026-11-20 09:05 (UTC+00:00)"),
        (NOVEMBER, ZoneInfo("UTC"), "zh-CN", "2026年11月20日 09:05 (UTC+00:00)"),
        # a zone west of UTC, and one with a half-hour offset
        (ACROSS_MIDNIGHT, ZoneInfo("America/New_York"), "en", "2026-02-28 11:30 (UTC-05:00)"),
        (ACROSS_MIDNIGHT, ZoneInfo("Asia/Kolkata"), "zh-CN", "2026年2月28日 22:00 (UTC+05:30)"),
    ],
)
def test_a_moment_is_shown_in_the_sites_zone_with_its_offset(
    moment: datetime, zone: ZoneInfo, language: str, expected: str
) -> None:
    assert i18n.format_time(moment, zone, language) == expected


def test_a_summer_time_offset_follows_the_date() -> None:
    new_york = ZoneInfo("America/New_York")
    july = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert i18n.format_time(july, new_york, "en") == "2026-07-01 08:00 (UTC-04:00)"
    assert i18n.zone_label(july, new_york) == "America/New_York (UTC-04:00)"
    assert i18n.zone_label(ACROSS_MIDNIGHT, SHANGHAI) == "Asia/Shanghai (UTC+08:00)"


def test_days_and_months_in_each_language() -> None:
    assert i18n.format_day(date(2026, 3, 1), "en") == "Mar 1, 2026"
    assert i18n.format_day(date(2026, 12, 25), "en") == "Dec 25, 2026"
    assert i18n.format_day(date(2026, 3, 1), "zh-CN") == "2026年3月1日"
    assert i18n.format_month(date(2026, 3, 1), "en") == "March 2026"
    assert i18n.format_month(date(2026, 12, 1), "zh-CN") == "2026年12月"


def test_the_console_shows_the_local_time_without_the_offset() -> None:
    assert i18n.format_local(ACROSS_MIDNIGHT, SHANGHAI) == "2026-03-01 00:30"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        i18n.format_day(date(2026, 3, 1), "fr")
