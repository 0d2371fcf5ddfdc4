"""A cached public response: the entry rendered once (plain and gzipped, with a strong ETag and
its headers ready), and the answer it gives a GET or HEAD (304, gzip, the language cookie)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.types import Scope, Send

from incidents.schemas import LANGUAGES
from statuspage import security_headers
from statuspage.public.state import PublicState

HTML_CACHE_CONTROL = "public, max-age=10, stale-while-revalidate=60, stale-if-error=86400"
API_CACHE_CONTROL = "public, max-age=10, stale-while-revalidate=60, stale-if-error=86400"
LANG_COOKIE = "lang"


def api_error(code: str, message: str) -> bytes:
    """The body of an error under /api/, as the live app and the static export both send it."""
    error = {"error": {"code": code, "message": message, "field": None}}
    return json.dumps(error, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Entry:
    """A rendered response with its headers prepared for each answer it can give."""

    body: bytes
    gzipped: bytes
    etag: str
    last_modified: str
    version: int
    status: int
    plain_headers: list[tuple[bytes, bytes]]
    gzip_headers: list[tuple[bytes, bytes]]
    not_modified_plain: list[tuple[bytes, bytes]]
    not_modified_gzip: list[tuple[bytes, bytes]]

    @classmethod
    def build(
        cls,
        body: bytes,
        *,
        content_type: str,
        cache_control: str,
        vary: str,
        state: PublicState,
        extra: Iterable[tuple[str, str]] = (),
        status: int = 200,
        framable: bool = False,
    ) -> Entry:
        digest = hashlib.sha256(body).hexdigest()[:20]
        gzipped = gzip.compress(body, compresslevel=6, mtime=0)
        last_modified = format_datetime(state.updated_at, usegmt=True)
        common = [
            (b"content-type", content_type.encode()),
            (b"cache-control", cache_control.encode()),
            (b"vary", vary.encode()),
            *security_headers.for_response(
                https=security_headers.is_https(state.site.url), framable=framable
            ),
            *((name.encode(), value.encode()) for name, value in extra),
            (b"last-modified", last_modified.encode()),
        ]
        plain_tag = [(b"etag", f'"{digest}"'.encode())]
        gzip_tag = [(b"etag", f'"{digest}-gz"'.encode())]
        return cls(
            body=body,
            gzipped=gzipped,
            etag=digest,
            last_modified=last_modified,
            version=state.version,
            status=status,
            plain_headers=[*common, *plain_tag, (b"content-length", str(len(body)).encode())],
            gzip_headers=[
                *common,
                *gzip_tag,
                (b"content-encoding", b"gzip"),
                (b"content-length", str(len(gzipped)).encode()),
            ],
            not_modified_plain=[*common, *plain_tag],
            not_modified_gzip=[*common, *gzip_tag],
        )


# -- the request --------------------------------------------------------------------------


# Public API documents written for app developers in the reader's language (`?lang=`).
LANGUAGE_APIS = frozenset({"/api/networks.json", "/api/notices.json"})


def surface(path: str) -> str:
    """`api` (no language), `feed` (language by ?lang= only) or `html` (negotiated)."""
    if path.startswith("/api/") and path not in LANGUAGE_APIS:
        return "api"
    if path.endswith((".rss", ".atom", ".ics", ".svg", ".json", ".xml")):
        return "feed"
    return "html"


def query_of(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=False)) if raw else {}


@dataclass(frozen=True)
class Incoming:
    """A request's headers and query, parsed once for the key and the response."""

    scope: Scope
    headers: dict[bytes, bytes]
    query: dict[str, str]

    @classmethod
    def of(cls, scope: Scope) -> Incoming:
        return cls(scope, dict(scope["headers"]), query_of(scope))


# -- HTTP ---------------------------------------------------------------------------------


def _matches(if_none_match: str, etag: str) -> bool:
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"').removesuffix("-gz")
        if tag in {etag, "*"}:
            return True
    return False


def _not_modified_since(header: str, entry: Entry) -> bool:
    try:
        since = parsedate_to_datetime(header)
        return parsedate_to_datetime(entry.last_modified) <= since
    except (TypeError, ValueError):
        return False


def response_parts(
    entry: Entry, scope: Scope, headers: dict[bytes, bytes], *, set_language: str | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body for a GET or HEAD of a cached entry."""
    gzip_ok = b"gzip" in headers.get(b"accept-encoding", b"")
    status, out, body = entry.status, entry.plain_headers, entry.body
    if gzip_ok:
        out, body = entry.gzip_headers, entry.gzipped
    if entry.status == 200 and _unchanged(entry, headers):
        status, out, body = (
            304,
            entry.not_modified_gzip if gzip_ok else entry.not_modified_plain,
            b"",
        )
    if set_language is not None:
        cookie = f"{LANG_COOKIE}={set_language}; Path=/; Max-Age=31536000; SameSite=Lax"
        out = [*out, (b"set-cookie", cookie.encode())]
    return status, out, b"" if scope["method"] == "HEAD" else body


def _unchanged(entry: Entry, headers: dict[bytes, bytes]) -> bool:
    if_none_match = headers.get(b"if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match.decode("latin-1"), entry.etag)
    since = headers.get(b"if-modified-since")
    return since is not None and _not_modified_since(since.decode("latin-1"), entry)


async def send_entry(entry: Entry, incoming: Incoming, send: Send) -> None:
    scope = incoming.scope
    requested = incoming.query.get("lang")
    # The /embed frame reads ?lang= but sets no cookie: it is read inside other sites.
    remembered = surface(scope["path"]) == "html" and scope["path"] != "/embed"
    set_language = requested if requested in LANGUAGES and remembered else None
    status, out, body = response_parts(entry, scope, incoming.headers, set_language=set_language)
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
