"""The status badge, in shields' flat style and as a shields.io endpoint, in the page's words."""

from __future__ import annotations

import json
import math
import unicodedata

from markupsafe import escape

from incidents.models import Indicator
from statuspage.i18n import t
from statuspage.public.state import PublicState

__all__ = ["badge_json", "badge_svg"]

# shields.io's named colours, so our badge and the shields endpoint badge look alike.
_BADGE_COLOURS = {
    Indicator.none: ("brightgreen", "#4c1"),
    Indicator.minor: ("yellow", "#dfb317"),
    Indicator.major: ("orange", "#fe7d37"),
    Indicator.critical: ("red", "#e05d44"),
    Indicator.maintenance: ("blue", "#007ec6"),
}


def badge_json(state: PublicState, language: str) -> bytes:
    """The shields.io endpoint badge: https://shields.io/badges/endpoint-badge."""
    label, message = _badge_words(state, language)
    colour = _BADGE_COLOURS[state.indicator][0]
    data = {"schemaVersion": 1, "label": label, "message": message, "color": colour}
    return json.dumps(data, ensure_ascii=False).encode()


def badge_svg(state: PublicState, language: str) -> bytes:
    """A shields-style flat badge, "status | All Systems Operational", coloured by the indicator."""
    label, message = _badge_words(state, language)
    left, right = _text_width(label) + 10, _text_width(message) + 10
    width, fill = left + right, _BADGE_COLOURS[state.indicator][1]
    words = escape(f"{label}: {message}")
    texts = "".join(
        f'<text aria-hidden="true" x="{x:g}" y="15" fill="#010101" fill-opacity=".3">{text}'
        f'</text><text x="{x:g}" y="14">{text}</text>'
        for x, text in ((left / 2, escape(label)), (left + right / 2, escape(message)))
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{words}"><title>{words}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-size="11" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif">'
        f"{texts}</g></svg>"
    )
    return svg.encode()


def _badge_words(state: PublicState, language: str) -> tuple[str, str]:
    """The label and what the page's banner says ("Partially Degraded Service"), so the badge
    never words the state differently from the page (it said "minor outage" for a slowdown)."""
    return t(language, "badge.label"), t(language, state.headline)


def _text_width(text: str) -> int:
    """About how wide 11px Verdana draws the text; CJK characters take a full em."""
    return math.ceil(sum(_char_width(char) for char in text))


def _char_width(char: str) -> float:
    if unicodedata.east_asian_width(char) in {"W", "F"}:
        return 11.0
    if char in "fijlrt.,:;!'|()[] ":
        return 4.0
    return 7.5 if char.isupper() else 6.7
