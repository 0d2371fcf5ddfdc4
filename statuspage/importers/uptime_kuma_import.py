"""`statuspage import uptime-kuma URL --slug SLUG`: an Uptime Kuma status page's public API
(groups, monitors with their last heartbeat, incidents) read whole, then written as every
import is."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from statuspage.db import Database
from statuspage.importers import uptime_kuma_format as kuma
from statuspage.importers.context import Report
from statuspage.importers.records import Page
from statuspage.importers.run import SourceOptions, write_page
from statuspage.importers.sources import Node, SourceError, get_json, paged


@dataclass(frozen=True, kw_only=True)
class Options(SourceOptions):
    slug: str  # the page's: /status/SLUG


async def read_source(client: httpx.AsyncClient, options: Options) -> Page:
    base = options.url.rstrip("/")
    slug = quote(options.slug.lower(), safe="")
    listing = await get_json(client, f"{base}/api/status-page/{slug}")
    page = kuma.read_page(listing, slug)
    beats = await get_json(client, f"{base}/api/status-page/heartbeat/{slug}")
    kuma.add_groups(page, listing, kuma.last_statuses(beats))
    kuma.add_incidents(page, kuma.pinned(listing))
    try:
        kuma.add_incidents(page, await _history(client, f"{base}/api/status-page/{slug}"))
    except SourceError as error:
        if error.http_status != 404:
            raise
        page.notes.append(
            "this Uptime Kuma keeps no incident history (before 2.1): the pinned incident only"
        )
    kuma.note_maintenances(page, listing)
    return page


async def _history(client: httpx.AsyncClient, url: str) -> list[Node]:
    first = f"{url}/incident-history"

    def next_url(node: Node) -> str | None:
        if not node.optional("hasMore").flag_or(False):
            return None
        cursor = node.field("nextCursor").text()
        return f"{first}?cursor={quote(cursor, safe='')}"

    found: list[Node] = []
    async for node in paged(client, first, next_url):
        found.extend(node.field("incidents").items())
    return found


async def run_import(database: Database, client: httpx.AsyncClient, options: Options) -> Report:
    page = await read_source(client, options)
    source = f"uptime-kuma:{options.url.rstrip('/')}/status/{page.id}"
    return await write_page(database, page, options, source=source)
