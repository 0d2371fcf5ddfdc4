"""The public site's static files (stylesheet, script, feed stylesheet, favicon): served by the
app with their cache headers and written by the static export with the same bytes and types."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from incidents.schemas import LANGUAGES
from statuspage import i18n
from statuspage.public.responses import Entry
from statuspage.public.state import PublicState
from statuspage.templating import STATIC

__all__ = [
    "ASSETS",
    "EMBED_SCRIPT",
    "EMBED_STYLESHEET",
    "FAVICON",
    "FEED_XSL",
    "SCRIPT",
    "STYLESHEET",
    "Asset",
    "routes",
]

# A versioned asset's URL carries its hash (`?v=`), so it may be kept for a year; the favicon
# is asked for by its bare name, so a day.
_IMMUTABLE = "public, max-age=31536000, immutable"
_FAVICON_CACHE = "public, max-age=86400"
# Other sites load /embed.js by its bare name: a new version reaches them within the hour.
_EMBED_CACHE = "public, max-age=3600"
# Any site may load it, also with `crossorigin` and an integrity hash, or under COEP.
_EMBED_HEADERS = (
    ("access-control-allow-origin", "*"),
    ("cross-origin-resource-policy", "cross-origin"),
)


@dataclass(frozen=True)
class Asset:
    path: str  # the URL path, and the file's path in the export (without the leading slash)
    body: bytes
    content_type: str
    cache_control: str
    headers: tuple[tuple[str, str], ...] = ()

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
            extra=self.headers,
        )


def _static(name: str, content_type: str, *, path: str | None = None) -> Asset:
    cache = _FAVICON_CACHE if path else _IMMUTABLE
    body = (STATIC / name).read_bytes()
    return Asset(path or f"/static/{name}", body, content_type, cache)


STYLESHEET = _static("site.css", "text/css; charset=utf-8")
SCRIPT = _static("site.js", "text/javascript; charset=utf-8")
FEED_XSL = _static("feed.xsl", "text/xsl; charset=utf-8")
FAVICON = _static("favicon.ico", "image/x-icon", path="/favicon.ico")
EMBED_STYLESHEET = _static("embed.css", "text/css; charset=utf-8")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_EMBED_WORDS = ("label", "incident", "maintenance", "dismiss", "details", "expected")


def _embed_script() -> Asset:
    """static/embed.js with its words (from the public catalogues) and its stylesheet (the
    frame's, static/embed.css) filled in, comment lines and indentation left out."""
    words = {
        language: {
            "lang": language,
            "colon": i18n.t(language, "page.colon"),
            **{word: i18n.t(language, f"embed.{word}") for word in _EMBED_WORDS},
        }
        for language in LANGUAGES
    }
    source = _COMMENT.sub("", (STATIC / "embed.js").read_text(encoding="utf-8"))
    lines = [line.strip() for line in source.splitlines()]
    kept = "\n".join(line for line in lines if line and not line.startswith("//"))
    css = " ".join(_COMMENT.sub("", EMBED_STYLESHEET.body.decode()).split())
    body = kept.replace("__WORDS__", json.dumps(words, ensure_ascii=False)).replace(
        "__CSS__", json.dumps(css)
    )
    return Asset(
        "/embed.js",
        (body + "\n").encode(),
        "text/javascript; charset=utf-8",
        _EMBED_CACHE,
        _EMBED_HEADERS,
    )


EMBED_SCRIPT = _embed_script()
ASSETS = (STYLESHEET, SCRIPT, FEED_XSL, FAVICON, EMBED_STYLESHEET, EMBED_SCRIPT)


async def _serve(asset: Asset, request: Request) -> Response:
    """The asset, or a 304 to a reader who has it (a host page revalidating /embed.js)."""
    tag = f'"{asset.version}"'
    headers = {"cache-control": asset.cache_control, "etag": tag, **dict(asset.headers)}
    asked = request.headers.get("if-none-match", "")
    if tag in {candidate.strip().removeprefix("W/") for candidate in asked.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, headers={"content-type": asset.content_type, **headers})


def routes() -> list[Route]:
    return [Route(a.path, partial(_serve, a), methods=["GET", "HEAD"]) for a in ASSETS]
