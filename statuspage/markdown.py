"""Markdown to safe HTML: markdown-it renders, nh3 (the ammonia sanitizer) cleans."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h2",
    "h3",
    "h4",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}
_SCHEMES = {"http", "https", "mailto"}

_renderer = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


@lru_cache(maxsize=4096)
def render(text: str) -> Markup:
    """Safe HTML for a staff-written Markdown body: raw HTML is escaped by the renderer, and
    what remains is cleaned to a small allow-list (links get rel=noopener noreferrer nofollow,
    only http, https and mailto links survive)."""
    html = _renderer.render(text)
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by nh3 on the line above
