"""The static export: every public surface rendered through the public cache, named as files."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import or_, select

from incidents import service
from incidents.models import Incident, IncidentUpdate, Maintenance, MaintenanceUpdate
from incidents.schemas import LANGUAGES
from statuspage.public import pages as public_pages
from statuspage.public.assets import ASSETS
from statuspage.public.cache import Archive, PublicCache, RenderContext, make_key
from statuspage.public.responses import Entry, api_error
from statuspage.public.routes import API_V2, SURFACES, Renderer
from statuspage.public.state import PublicState

__all__ = ["LANGUAGE_DIR", "ExportError", "ExportRace", "Page", "Snapshot", "snapshot"]

# Every language's pages live under `_lang/<language>/`; the default language's are also at the
# top, so a server without our rules (or a CDN) serves the page a reader without a choice gets.
LANGUAGE_DIR = "_lang"
API_NOT_FOUND = "_api/404.json"  # the JSON 404 under /api/ (nginx: an internal location)
_RENDERERS = {surface.path: surface.render for surface in SURFACES}
_FEEDS = (
    "/history.rss",
    "/history.atom",
    "/maintenance.ics",
    "/badge.svg",
    "/badge.json",
    "/api/networks.json",
    "/api/notices.json",
)
_COMPONENT_FEEDS = ("/components/{}/history.rss", "/components/{}/history.atom")
_ATTEMPTS = 3


@dataclass(frozen=True)
class Page:
    """One exported file: the live URL it answers (path and query; empty for the not-found
    page, which answers every unknown one) and its path inside the export."""

    url: str
    path: str
    entry: Entry

    def header(self, name: str) -> str:
        wanted = name.lower().encode()
        return next(v.decode() for k, v in self.entry.plain_headers if k == wanted)


@dataclass(frozen=True)
class Snapshot:
    """The public site at one public version: all of it, or (`partial`) what a change can
    have touched; the pages of older incidents and history are then kept from the last build."""

    version: int
    updated_at: datetime
    pages: list[Page]
    partial: bool = False


class ExportError(RuntimeError):
    """The export cannot be written; the message says why and what to do."""


class ExportRace(ExportError):
    """The public version kept moving while the site was rendered."""


async def snapshot(cache: PublicCache, *, touched_since: datetime | None = None) -> Snapshot:
    """Renders every public surface of the current version, retrying if it moves meanwhile.

    With `touched_since`, only what a change since then can have touched: every page drawn
    from the public state (home, API, feeds, recent incidents and maintenance, the first
    history page) and the older incidents and maintenance edited since.
    """
    for _ in range(_ATTEMPTS):
        state = await cache.state()
        if touched_since is None:
            archive = await _archive(cache)
            oldest = min((i.started_at for i in archive.incidents.values()), default=None)
            history = _history_pages(state, oldest)
        else:
            archive, history = await _archive(cache, state, touched_since), 1
        pages = await _pages(cache, state, archive, history)
        if all(page.entry.version == state.version for page in pages):
            return Snapshot(state.version, state.updated_at, pages, touched_since is not None)
        await cache.refresh()
    raise ExportRace(f"the public version moved {_ATTEMPTS} times during the export")


async def _pages(
    cache: PublicCache, state: PublicState, archive: Archive, history: int
) -> list[Page]:
    default = state.site.default_language
    pages = [
        Page(f"/api/v2/{name}", f"api/v2/{name}", await _get(cache, f"/api/v2/{name}", {}, default))
        for name in API_V2
    ]
    pages += [Page(a.path, a.path.lstrip("/"), a.entry(state)) for a in ASSETS]
    pages.append(Page("", API_NOT_FOUND, _api_not_found(state)))
    incidents = dict.fromkeys([*(i.shortlink for i in state.incidents), *archive.incidents])
    maintenances = dict.fromkeys(
        [*(m.shortlink for m in state.maintenances), *archive.maintenances]
    )
    for language in LANGUAGES:
        html = [
            ("/", {}),
            ("/networks", {}),
            ("/embed", {}),
            *((f"/incidents/{code}", {"shortlink": code}) for code in incidents),
            *((f"/maintenance/{code}", {"shortlink": code}) for code in maintenances),
            *(("/history", _page_param(page)) for page in range(1, history + 1)),
        ]
        for path, params in html:
            entry = await _get(cache, path, params, language, archive)
            pages += _both(_html_file(path, params), _url(path, params), language, default, entry)
        documents: list[tuple[str, dict[str, str]]] = [(path, {}) for path in _FEEDS] + [
            (template.format(c.id), {"component_id": str(c.id)})
            for c in state.components
            for template in _COMPONENT_FEEDS
        ]
        for path, params in documents:
            entry = await _get(cache, path, params, language)
            pages += _both(path.lstrip("/"), path, language, default, entry)
        missing = public_pages.not_found(RenderContext(state, language, {}, cache.database))
        pages += _both("404.html", "", language, default, missing)
    return pages


async def _get(
    cache: PublicCache,
    path: str,
    params: dict[str, str],
    language: str,
    archive: Archive | None = None,
) -> Entry:
    """The live app's cached entry for this request, rendered now if it is not cached yet."""
    render: Renderer = _RENDERERS[_template_of(path)]
    key = make_key(path, params, language)
    entry = await cache.get(key, params, render, archive=archive, stale_ok=False)
    await asyncio.sleep(0)  # rendering is CPU work: let the app answer requests in between
    return entry


def _template_of(path: str) -> str:
    parts = path.split("/")
    if len(parts) == 3 and parts[1] in {"incidents", "maintenance"}:
        return f"/{parts[1]}/{{shortlink}}"
    if len(parts) == 4 and parts[1] == "components":
        return f"/components/{{component_id}}/{parts[3]}"
    return path


def _api_not_found(state: PublicState) -> Entry:
    """What an unknown address under /api/ answers (nginx's `error_page` there): the live
    app's JSON 404, which any origin may read."""
    return Entry.build(
        api_error("not_found", "Not Found"),
        content_type="application/json",
        cache_control="no-store",
        vary="Accept-Encoding",
        state=state,
        extra=[("access-control-allow-origin", "*")],
        status=404,
    )


def _both(file: str, url: str, language: str, default: str, entry: Entry) -> list[Page]:
    """The language's own copy (`?lang=` in the URL) and, for the default, the plain one."""
    joiner = "&" if "?" in url else "?"
    own = Page(
        f"{url}{joiner}lang={language}" if url else "", f"{LANGUAGE_DIR}/{language}/{file}", entry
    )
    return [own, Page(url, file, entry)] if language == default else [own]


def _html_file(path: str, params: dict[str, str]) -> str:
    if path == "/":
        return "index.html"
    if "page" in params:
        return f"history/page-{params['page']}.html"
    return f"{path.lstrip('/')}.html"


def _url(path: str, params: dict[str, str]) -> str:
    if "page" in params:
        return f"{path}?{urlencode({'page': params['page']})}"
    return path


def _page_param(page: int) -> dict[str, str]:
    return {"page": str(page)} if page > 1 else {}


def _history_pages(state: PublicState, oldest: datetime | None) -> int:
    """How many history pages the live app links before "older" runs out (at least one)."""
    if oldest is None:
        return 1
    zone = state.site.zone
    current = state.now.astimezone(zone).date()
    first = oldest.astimezone(zone).date()
    months_back = (current.year - first.year) * 12 + current.month - first.month
    pages = max(months_back, 0) // public_pages.HISTORY_MONTHS_PER_PAGE + 1
    return min(pages, public_pages.HISTORY_MAX_PAGES)


async def _archive(
    cache: PublicCache, state: PublicState | None = None, since: datetime | None = None
) -> Archive:
    """Published incidents and maintenance, read in a few queries rather than one per page:
    all of them (old ones too: each has a page of its own), or, with `since`, those outside
    `state` that were edited since then."""
    incidents = select(Incident).where(Incident.draft.is_(False))
    maintenances = select(Maintenance).where(Maintenance.draft.is_(False))
    if state is not None and since is not None:
        incidents = incidents.where(
            Incident.id.not_in([i.id for i in state.incidents]),
            or_(
                Incident.updated_at >= since,
                Incident.id.in_(
                    select(IncidentUpdate.incident_id).where(IncidentUpdate.updated_at >= since)
                ),
            ),
        )
        maintenances = maintenances.where(
            Maintenance.id.not_in([m.id for m in state.maintenances]),
            or_(
                Maintenance.updated_at >= since,
                Maintenance.id.in_(
                    select(MaintenanceUpdate.maintenance_id).where(
                        MaintenanceUpdate.updated_at >= since
                    )
                ),
            ),
        )
    async with cache.database.reading() as session:
        found = await session.scalars(
            incidents.order_by(Incident.id).options(*service.incident_load_options())
        )
        items = await session.scalars(
            maintenances.order_by(Maintenance.id).options(*service.maintenance_load_options())
        )
        return Archive(
            {incident.shortlink: incident for incident in found.all()},
            {item.shortlink: item for item in items.all()},
        )
