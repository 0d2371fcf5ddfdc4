"""`/embed`: the notices of /embed.js as a small page for hosts that allow no script, framed
by any site (public notices only; the frame has no form or session to abuse). Inside it,
/embed.js polls and dismisses as on a host page; where the frame may run no script (a
sandboxed iframe) the notices rendered here show instead, as they were when it loaded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from statuspage import i18n
from statuspage.public import notices, pages
from statuspage.public.cache import RenderContext
from statuspage.public.responses import HTML_CACHE_CONTROL, Entry

__all__ = ["REFRESH_SECONDS", "frame"]

# How often the frame's script asks again (a meta refresh would fail WCAG 2.2.1).
REFRESH_SECONDS = 30


async def frame(ctx: RenderContext) -> Entry:
    ids = notices.touched(ctx.state, ctx.params)
    if ids is not None and not ids:
        raise pages.PageNotFound("no component matches the filter")
    document = notices.document(ctx.state, ctx.language, ids)
    html = pages.render_html(
        ctx.state,
        ctx.language,
        "embed.html",
        path="/embed",
        notices=[_shown(notice, ctx) for notice in document["notices"]],
        refresh=REFRESH_SECONDS,
        filters=ctx.params,
    )
    return Entry.build(
        html.encode(),
        content_type="text/html; charset=utf-8",
        cache_control=HTML_CACHE_CONTROL,
        vary="Accept-Encoding, Accept-Language, Cookie",
        state=ctx.state,
        extra=[("content-language", ctx.language)],
        framable=True,
    )


def _shown(notice: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
    """The notice with its expected resolution in the site's zone, as the page shows times."""
    expected = notice["expected_resolution_at"]
    when = datetime.fromisoformat(expected) if expected else None
    zone = ctx.state.site.zone
    return {**notice, "expected": i18n.format_time(when, zone, ctx.language) if when else None}
