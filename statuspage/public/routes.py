"""Routes of every public surface, each answered from the public cache."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from incidents.common.errors import InvalidInput
from statuspage.public import api_v2, assets, badge, embed, feeds, networks, notices, pages
from statuspage.public.cache import PublicCache, RenderContext, key_for
from statuspage.public.responses import API_CACHE_CONTROL, Entry, Incoming, send_entry
from statuspage.public.state import PublicState

_SHORTLINK = re.compile(r"^[a-z0-9]{4,16}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,16}$")
_NETWORK = re.compile(r"^[a-z0-9][a-z0-9 ._-]{0,31}$")
_ID = re.compile(r"^[0-9]{1,10}$")
# A host names the few components its screen is about; more is not a notice filter, and
# each distinct set takes a cache entry.
MAX_NOTICE_IDS = 50
_MAX_PAGE = pages.HISTORY_MAX_PAGES
# Read-only, no credentials: any origin may read, and a poller may see the validators to
# ask again with If-None-Match (a 304 then).
CORS = [
    ("access-control-allow-origin", "*"),
    ("access-control-expose-headers", "ETag, Last-Modified"),
]


class EntryResponse(Response):
    """Sends a cached entry with the conditional-GET and gzip handling of the cache."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_entry(self.entry, Incoming.of(scope), send)


Renderer = Callable[[RenderContext], Awaitable[Entry]]
Cleaner = Callable[[Request], dict[str, str] | None]
# From clean params to what they mean in the public state: equal meanings share one entry.
Resolver = Callable[[PublicState, dict[str, str]], dict[str, str]]


@dataclass(frozen=True)
class Surface:
    path: str
    render: Renderer
    clean: Cleaner
    resolve: Resolver | None = None


def _no_params(_request: Request) -> dict[str, str]:
    return {}


def _shortlink(request: Request) -> dict[str, str] | None:
    shortlink = str(request.path_params["shortlink"])
    return {"shortlink": shortlink} if _SHORTLINK.match(shortlink) else None


def _history(request: Request) -> dict[str, str] | None:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
        return None
    return {"page": str(int(raw))} if int(raw) > 1 else {}


def _asset(request: Request) -> dict[str, str] | None:
    """`?asset=USDT` (any letter case) narrows the network matrix to one asset."""
    raw = request.query_params.get("asset")
    if raw is None:
        return {}
    return {"asset": raw.upper()} if _ASSET.match(raw.upper()) else None


_QUERY = re.compile(r"^[a-z0-9 ._-]{1,40}$")


def _matrix_filter(request: Request) -> dict[str, str] | None:
    """`/networks?asset=USDT&q=usdt trc20`: the asset, and the words to find (case-folded,
    spaces collapsed, so equal searches share one entry); a search no name could match, or
    an empty one, is no search."""
    clean = _asset(request)
    raw = " ".join(request.query_params.get("q", "").split()).casefold()
    if clean is None or not raw:
        return clean
    return {**clean, "q": raw} if _QUERY.match(raw) else None


def _notice_filter(request: Request) -> dict[str, str]:
    """`?components=3,1&asset=usdt&network=TRC20`, each optional, made canonical (sorted,
    deduplicated ids, upper-case asset, case-folded network) so equal filters share one cache
    entry; a malformed one raises InvalidInput naming the field (answered 400)."""
    query = request.query_params
    clean: dict[str, str] = {}
    if (raw := query.get("components")) is not None:
        listed = raw.split(",")
        if len(listed) > MAX_NOTICE_IDS:
            raise InvalidInput(
                f"components: at most {MAX_NOTICE_IDS} ids, got {len(listed)}", field="components"
            )
        if not all(_ID.match(i) and 0 < int(i) < 2**31 for i in listed):
            raise InvalidInput("components: component ids separated by commas", field="components")
        clean["components"] = ",".join(str(i) for i in sorted({int(i) for i in listed}))
    if (asset := query.get("asset")) is not None:
        if not _ASSET.match(asset.upper()):
            raise InvalidInput("asset: 1 to 16 letters or digits, e.g. USDT", field="asset")
        clean["asset"] = asset.upper()
    if (network := query.get("network")) is not None:
        if not _NETWORK.match(network.casefold()):
            raise InvalidInput("network: a network name, e.g. TRC20", field="network")
        clean["network"] = network.casefold()
    return clean


def endpoint(surface: Surface, cache: PublicCache) -> Callable[[Request], Awaitable[Response]]:
    default = cache.site.default_language

    async def serve(request: Request) -> Response:
        try:
            params = surface.clean(request)
        except InvalidInput as error:
            return refused(error)
        if params is None:
            return await not_found_page(request, cache)
        try:
            if surface.resolve is not None:
                params = surface.resolve(await cache.state(), params)
            key = key_for(Incoming.of(request.scope), params, default)
            entry = await cache.get(key, params, surface.render)
        except pages.PageNotFound:
            return await not_found_page(request, cache)
        return EntryResponse(entry)

    return serve


def refused(error: InvalidInput) -> Response:
    """A malformed filter: 400 naming the field, readable by scripts of any origin."""
    detail = {"code": error.code, "message": error.message, "field": error.field}
    return JSONResponse(
        {"error": detail}, status_code=400, headers={"access-control-allow-origin": "*"}
    )


async def not_found_page(request: Request, cache: PublicCache) -> Response:
    """A 404 page in the reader's language; never cached, so junk URLs cost no memory."""
    key = key_for(Incoming.of(request.scope), {}, cache.site.default_language)
    ctx = RenderContext(await cache.state(), key[2], {}, cache.database)
    return EntryResponse(pages.not_found(ctx))


async def shortlink_redirect(cache: PublicCache, request: Request) -> Response:
    code = str(request.path_params["shortlink"])
    state = await cache.state()
    if any(m.shortlink == code for m in state.maintenances):
        return RedirectResponse(f"/maintenance/{code}", status_code=301)
    return RedirectResponse(f"/incidents/{code}", status_code=301)


def _json(build: Callable[[PublicState], dict[str, object]]) -> Renderer:
    """A Statuspage API v2 document: JSON, open to every origin (read-only, no credentials)."""

    async def render(ctx: RenderContext) -> Entry:
        return Entry.build(
            api_v2.dumps(build(ctx.state)),
            content_type="application/json",
            cache_control=API_CACHE_CONTROL,
            vary="Accept-Encoding",
            state=ctx.state,
            extra=CORS,
        )

    return render


API_V2 = {
    "summary.json": api_v2.summary,
    "status.json": api_v2.status,
    "components.json": api_v2.components,
    "incidents.json": api_v2.incidents,
    "incidents/unresolved.json": api_v2.unresolved_incidents,
    "scheduled-maintenances.json": api_v2.scheduled_maintenances,
    "scheduled-maintenances/upcoming.json": api_v2.upcoming_maintenances,
    "scheduled-maintenances/active.json": api_v2.active_maintenances,
}

FEED_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}


def _feed(kind: str) -> Renderer:
    write = feeds.incidents_rss if kind == "rss" else feeds.incidents_atom

    async def render(ctx: RenderContext) -> Entry:
        component_id = int(ctx.params["component_id"]) if "component_id" in ctx.params else None
        path = f"/components/{component_id}/history" if component_id else "/history"
        self_url = f"{ctx.state.site.url}{path}.{kind}?lang={ctx.language}"
        try:
            body = write(ctx.state, ctx.language, component_id, self_url=self_url)
        except feeds.UnknownComponent as error:
            raise pages.PageNotFound(str(error)) from error
        return _entry(ctx, body, FEED_TYPES[kind])

    return render


def _document(write: Callable[[PublicState, str], bytes], content_type: str) -> Renderer:
    async def render(ctx: RenderContext) -> Entry:
        return _entry(ctx, write(ctx.state, ctx.language), content_type)

    return render


def _entry(ctx: RenderContext, body: bytes, content_type: str) -> Entry:
    return Entry.build(
        body,
        content_type=content_type,
        cache_control=API_CACHE_CONTROL,
        vary="Accept-Encoding",
        state=ctx.state,
        extra=CORS,
    )


async def _networks_json(ctx: RenderContext) -> Entry:
    asset = ctx.params.get("asset")
    if asset is not None and not networks.rows(ctx.state, ctx.language, asset=asset):
        raise pages.PageNotFound(f"no network lists the asset {asset}")
    document = networks.document(ctx.state, ctx.language, asset=asset)
    return _entry(ctx, api_v2.dumps(document), "application/json")


def _notice_components(state: PublicState, params: dict[str, str]) -> dict[str, str]:
    """A notice filter as the set of components it names: `?asset=USDT&network=trc20`,
    `?components=7` and `?components=7&asset=NOSUCH` are one entry when they name the same
    components, so made-up filters do not each take one. None named is a 404 (not cached)."""
    ids = notices.touched(state, params)
    if ids is None:
        return {}
    if not ids:
        raise pages.PageNotFound("no component matches the filter")
    return {"components": ",".join(str(i) for i in sorted(ids))}


async def _notices_json(ctx: RenderContext) -> Entry:
    ids = notices.touched(ctx.state, ctx.params)
    if ids is not None and not ids:
        raise pages.PageNotFound("no component matches the filter")
    document = notices.document(ctx.state, ctx.language, ids)
    return _entry(ctx, api_v2.dumps(document), "application/json")


def _component_id(request: Request) -> dict[str, str] | None:
    raw = str(request.path_params["component_id"])
    return {"component_id": raw} if raw.isdigit() and 0 < int(raw) < 2**31 else None


SURFACES = [
    *(Surface(f"/api/v2/{name}", _json(build), _no_params) for name, build in API_V2.items()),
    Surface("/api/networks.json", _networks_json, _asset),
    Surface("/api/notices.json", _notices_json, _notice_filter, _notice_components),
    Surface("/embed", embed.frame, _notice_filter),
    Surface("/", pages.home, _no_params),
    Surface("/networks", pages.networks_page, _matrix_filter),
    Surface("/incidents/{shortlink}", pages.incident_page, _shortlink),
    Surface("/maintenance/{shortlink}", pages.maintenance_page, _shortlink),
    Surface("/history", pages.history_page, _history),
    Surface("/history.rss", _feed("rss"), _no_params),
    Surface("/history.atom", _feed("atom"), _no_params),
    Surface("/components/{component_id}/history.rss", _feed("rss"), _component_id),
    Surface("/components/{component_id}/history.atom", _feed("atom"), _component_id),
    Surface(
        "/maintenance.ics",
        _document(feeds.maintenance_ics, "text/calendar; charset=utf-8"),
        _no_params,
    ),
    Surface("/badge.svg", _document(badge.badge_svg, "image/svg+xml"), _no_params),
    Surface("/badge.json", _document(badge.badge_json, "application/json"), _no_params),
]


async def preflight(_request: Request) -> Response:
    """CORS preflight for the public API: any origin may GET it."""
    return Response(
        status_code=204,
        headers={
            "access-control-allow-origin": "*",
            "access-control-allow-methods": "GET, HEAD, OPTIONS",
            "access-control-allow-headers": "*",
            "access-control-max-age": "86400",
        },
    )


# The public API's paths a browser script may call (and so preflight): the documents and the
# OpenAPI description. An OPTIONS route matching every path would answer 405 to a GET of any
# unknown one, without the CORS header, where a 404 the script can read is due.
API_PATHS = [
    *(f"/api/v2/{name}" for name in API_V2),
    "/api/v2/openapi.json",
    "/api/networks.json",
    "/api/notices.json",
]


def routes(cache: PublicCache) -> list[Route]:
    built = [Route(s.path, endpoint(s, cache), methods=["GET", "HEAD"]) for s in SURFACES]
    return [
        *built,
        *assets.routes(),
        Route("/s/{shortlink}", partial(shortlink_redirect, cache), methods=["GET", "HEAD"]),
        *(Route(path, preflight, methods=["OPTIONS"]) for path in API_PATHS),
    ]
