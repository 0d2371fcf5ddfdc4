"""`statuspage import cachet URL`: a Cachet 3 page's JSON API (component groups, components,
incidents with their updates, schedules) read whole, then written as every import is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from statuspage.db import Database
from statuspage.importers import cachet_format as cachet
from statuspage.importers.context import Report
from statuspage.importers.records import Page
from statuspage.importers.run import SourceOptions, write_page
from statuspage.importers.sources import Node, get_json, paged

PER_PAGE = 100  # Cachet's most


@dataclass(frozen=True, kw_only=True)
class Options(SourceOptions):
    api_token: str | None = None


def api_base(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/api") else base + "/api"


async def _listing(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> AsyncIterator[cachet.Document]:
    """Every page of a listing. Only the page number is taken from `links.next`: Laravel
    writes that link without the request's other parameters (include, per_page), and with
    the host the server believes it has."""
    first = f"{url}&per_page={PER_PAGE}"

    def next_url(node: Node) -> str | None:
        link = cachet.Document(node).next_url()
        if link is None:
            return None
        number = httpx.URL(link).params.get("page")
        if number is None or not number.isdigit():
            raise node.field("links").field("next").fail(f"{link!r} names no page number")
        return f"{first}&page={number}"

    async for node in paged(client, first, next_url, headers=headers):
        yield cachet.Document(node)


async def read_source(client: httpx.AsyncClient, options: Options) -> Page:
    api = api_base(options.url)
    headers = {"Accept": "application/json"}
    if options.api_token:
        headers["Authorization"] = f"Bearer {options.api_token}"
    page = Page(id=api, name=options.url)
    async for document in _listing(client, f"{api}/component-groups?sort=id", headers):
        cachet.add_groups(page, document)
    async for document in _listing(client, f"{api}/components?include=group&sort=id", headers):
        cachet.add_components(page, document)
    await _incidents(client, api, headers, page)
    left_out = []
    url = f"{api}/schedules?include=components,updates&sort=id"
    async for document in _listing(client, url, headers):
        included = document.included()
        for resource in document.resources():
            maintenance = cachet.schedule(resource, included)
            if maintenance is None:
                left_out.append(resource.field("attributes").field("name").text())
            else:
                page.maintenances[maintenance.id] = maintenance
    for name in left_out:
        page.notes.append(f"maintenance {name!r} left out: it has no end time")
    return page


async def _incidents(
    client: httpx.AsyncClient, api: str, headers: dict[str, str], page: Page
) -> None:
    hidden = 0
    url = f"{api}/incidents?include=components,updates&sort=id"
    async for document in _listing(client, url, headers):
        included = document.included()
        for resource in document.resources():
            if not cachet.visible(resource):
                hidden += 1
                continue
            incident_id = resource.field("id").id_or_none() or ""
            changes = {}
            if cachet.related(resource, "components"):
                # A listing includes each component once, with one incident's status in it:
                # the incident's own answer says what it set on each.
                one = f"{api}/incidents/{incident_id}?include=components"
                changes = cachet.pivot_statuses(
                    cachet.Document(await get_json(client, one, headers=headers))
                )
            page.incidents[incident_id] = cachet.incident(resource, included, changes)
    if hidden:
        page.notes.append(f"incidents not shown to everyone there, left out: {hidden}")


async def run_import(database: Database, client: httpx.AsyncClient, options: Options) -> Report:
    page = await read_source(client, options)
    return await write_page(database, page, options, source=f"cachet:{page.id}")
