"""Translations: the catalogues of user-facing words, the reader's language, and dates in it."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_skeleton

from incidents.models import LANGUAGES
from statuspage.templating import CATALOGUES


@cache
def catalogue(language: str) -> dict[str, str]:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    loaded: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text("utf-8"))
    return loaded


def t(language: str, key: str, **params: object) -> str:
    """The catalogue's text for `key` in `language`, with `{name}` placeholders filled."""
    text = catalogue(language)[key]
    return text.format(**params) if params else text


def in_every_language(key: str) -> dict[str, str]:
    """The catalogue's text for `key` in each language, by language: what a flow writes for
    readers of every language (an occurrence a series edit cancels)."""
    return {language: t(language, key) for language in LANGUAGES}


def localized(row: Any, field: str, language: str, *, main: str | None = None) -> tuple[str, bool]:
    """A translatable field in the reader's language: (text, is_fallback).

    Rows keep their own-language text in a column (`main`, by default named like the field)
    and other languages in `translations[lang][field]`. When the reader's language is missing,
    the row's own text is returned and the caller shows a note.
    """
    own = getattr(row, main or field)
    if language == row.language or own is None:
        return own or "", False
    translated = (row.translations or {}).get(language, {}).get(field)
    if translated:
        return str(translated), False
    return str(own), True


def localized_name(row: Any, language: str) -> str:
    """Names of components and groups (which have no own language: they are in the default)."""
    translated = (row.translations or {}).get(language, {}).get("name")
    return str(translated) if translated else str(row.name)


def negotiate(
    *, query: str | None, cookie: str | None, accept_language: str | None, default: str
) -> str:
    """`?lang=`, then the cookie, then the best Accept-Language match, then the default."""
    for chosen in (query, cookie):
        if chosen in LANGUAGES:
            return chosen
    return _from_accept_language(accept_language or "") or default


def _from_accept_language(header: str) -> str | None:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        match = _match(tag.strip().lower())
        if match and quality > 0:
            ranked.append((-quality, position, match))
    return min(ranked)[2] if ranked else None


def _match(tag: str) -> str | None:
    if tag.startswith("zh"):
        return "zh-CN"  # zh, zh-CN, zh-Hans, zh-TW: the Chinese we have is simplified
    if tag.startswith("en"):
        return "en"
    return None


# -- dates and times ----------------------------------------------------------------------
# Every surface (pages, feeds, emails, chat, the console) formats through these, with Babel's
# CLDR data for `en` and `zh_CN`. Where CLDR's default differs from what readers have always
# seen here (en's medium datetime is "Mar 1, 2026, 12:30:00 PM", zh's carries seconds), an
# explicit pattern keeps the page's own form: a 24-hour clock, and the offset as UTC+08:00.

BABEL_LOCALES = {"en": "en", "zh-CN": "zh_CN"}
_MOMENT = {"en": "yyyy-MM-dd HH:mm", "zh-CN": "y年M月d日 HH:mm"}
_OFFSET = "'UTC'xxx"  # UTC+08:00, UTC+00:00 (CLDR's localized form would say GMT+8)
_LOCAL = "yyyy-MM-dd HH:mm"  # the staff console's plain local time


def babel_locale(language: str) -> str:
    if language not in BABEL_LOCALES:
        raise ValueError(f"unsupported language {language!r}")
    return BABEL_LOCALES[language]


def utc_offset(local: datetime) -> str:
    """`UTC+08:00` for an aware local time."""
    return format_datetime(local, _OFFSET, tzinfo=local.tzinfo, locale="en")


def format_time(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """A moment in the site's zone with the offset shown, as readers of `language` write it:
    `2026-03-01 12:30 (UTC+08:00)`, `2026年3月1日 12:30 (UTC+08:00)`."""
    local, locale = moment.astimezone(zone), babel_locale(language)
    text = format_datetime(local, _MOMENT[language], tzinfo=zone, locale=locale)
    return f"{text} ({utc_offset(local)})"


def format_day(day: date, language: str) -> str:
    """A calendar day: `Mar 1, 2026`, `2026年3月1日` (CLDR's medium date)."""
    return format_date(day, "medium", locale=babel_locale(language))


def format_month(month: date, language: str) -> str:
    """A month of the history: `March 2026`, `2026年3月`."""
    return format_skeleton("yMMMM", month, locale=babel_locale(language))


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """A moment in the site's zone without the offset (the console shows the zone elsewhere)."""
    return format_datetime(moment.astimezone(zone), _LOCAL, tzinfo=zone, locale="en")


def zone_label(now: datetime, zone: ZoneInfo) -> str:
    """`Asia/Shanghai (UTC+08:00)`: the zone the page's times are in, with today's offset."""
    return f"{zone.key} ({utc_offset(now.astimezone(zone))})"
