"""The public site's static files (stylesheet, script, feed stylesheet, favicon): served by the
app with their cache headers and written by the static export with the same bytes and types."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from statuspage.public.responses import Entry
from statuspage.public.state import PublicState
from statuspage.templating import STATIC

__all__ = ["ASSETS", "FAVICON", "FEED_XSL", "SCRIPT", "STYLESHEET", "Asset", "routes"]

# A versioned asset's URL carries its hash (`?v=`), so it may be kept for a year; the favicon
# is asked for by its bare name, so a day.
_IMMUTABLE = "public, max-age=31536000, immutable"
_FAVICON_CACHE = "public, max-age=86400"


@dataclass(frozen=True)
class Asset:
    path: str  # the URL path, and the file's path in the export (without the leading slash)
    body: bytes
    content_type: str
    cache_control: str

    @property
    def version(self) -> str:
        return hashlib.sha256(self.body).hexdigest()[:10]

    @property
    def url(self) -> str:
        """The address pages link to: versioned where the cache is long."""
        return f"{self.path}?v={self.version}" if self.cache_control == _IMMUTABLE else self.path

    def entry(self, state: PublicState) -> Entry:
        """The asset as the static export writes it."""
        return Entry.build(
            self.body,
            content_type=self.content_type,
            cache_control=self.cache_control,
            vary="Accept-Encoding",
            state=state,
        )


def _static(name: str, content_type: str, *, path: str | None = None) -> Asset:
    cache = _FAVICON_CACHE if path else _IMMUTABLE
    body = (STATIC / name).read_bytes()
    return Asset(path or f"/static/{name}", body, content_type, cache)


STYLESHEET = _static("site.css", "text/css; charset=utf-8")
SCRIPT = _static("site.js", "text/javascript; charset=utf-8")
FEED_XSL = _static("feed.xsl", "text/xsl; charset=utf-8")
FAVICON = _static("favicon.ico", "image/x-icon", path="/favicon.ico")
ASSETS = (STYLESHEET, SCRIPT, FEED_XSL, FAVICON)


async def _serve(asset: Asset, _request: Request) -> Response:
    return Response(
        asset.body,
        headers={"content-type": asset.content_type, "cache-control": asset.cache_control},
    )


def routes() -> list[Route]:
    return [Route(a.path, partial(_serve, a), methods=["GET", "HEAD"]) for a in ASSETS]
