"""Translations: the catalogues of user-facing words and the choice of the reader's language."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from incidents.schemas import LANGUAGES
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


def utc_offset(local: datetime) -> str:
    """`UTC+08:00` for an aware local time."""
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def format_time(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """A moment in the site's zone with the offset shown, as readers of `language` write it."""
    local = moment.astimezone(zone)
    if language == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} ({utc_offset(local)})"
    return f"{local:%Y-%m-%d %H:%M} ({utc_offset(local)})"
