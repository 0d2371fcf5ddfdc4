"""Markdown to safe HTML: markdown-it renders, nh3 (the ammonia sanitizer) cleans."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h3", "h4", "h5", "h6", "hr", "li", "ol",
    "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# Bodies sit under the page's own h1 and section h2s: "#" and "##" in a postmortem both
# become h3, "###" h4, and so on.
_HEADING = re.compile(r"<(/?)h([1-6])>")
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}
_SCHEMES = {"http", "https", "mailto"}

_renderer = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


def _demote(match: re.Match[str]) -> str:
    level = min(max(int(match.group(2)) + 1, 3), 6)
    return f"<{match.group(1)}h{level}>"


@lru_cache(maxsize=4096)
def render(text: str) -> Markup:
    """Safe HTML for a staff-written Markdown body: raw HTML is escaped by the renderer, and
    what remains is cleaned to a small allow-list (links get rel=noopener noreferrer nofollow,
    only http, https and mailto links survive)."""
    html = _HEADING.sub(_demote, _renderer.render(text))
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by nh3 on the line above
