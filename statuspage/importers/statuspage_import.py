"""`statuspage import statuspage URL`: a Statuspage page's public API v2 (and, with an API
key, its manage API v1) read whole, then written in one transaction (a dry run rolls it back)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from pydantic import TypeAdapter, ValidationError

from incidents.broadcasting import transfers
from incidents.broadcasting.schemas import Email
from statuspage.db import Database
from statuspage.importers import statuspage_format as source
from statuspage.importers.context import Context, Report
from statuspage.importers.records import Page
from statuspage.importers.run import SourceOptions, write_page
from statuspage.importers.sources import Node, get_json, paged

MANAGE_API = "https://api.statuspage.io/v1"
PER_PAGE = 100
_EMAIL = TypeAdapter(Email)


@dataclass(frozen=True, kw_only=True)
class Options(SourceOptions):
    api_key: str | None = None
    api_url: str = MANAGE_API
    consent_given: bool = False


def _v2(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/api/v2") else base + "/api/v2"


async def read_source(client: httpx.AsyncClient, options: Options) -> Page:
    """Everything the page publishes (and, with a key, all its history and subscribers)."""
    v2 = _v2(options.url)
    summary = await get_json(client, f"{v2}/summary.json")
    page = source.read_page(summary)
    source.add_components(
        page, (await get_json(client, f"{v2}/components.json")).field("components")
    )
    if options.api_key:
        await _read_manage_api(client, options, page)
    source.add_events(page, (await get_json(client, f"{v2}/incidents.json")).field("incidents"))
    maintenances = await get_json(client, f"{v2}/scheduled-maintenances.json")
    source.add_events(page, maintenances.field("scheduled_maintenances"))
    source.add_events(page, summary.field("incidents"))
    source.add_events(page, summary.optional("scheduled_maintenances"))
    return page


async def _read_manage_api(client: httpx.AsyncClient, options: Options, page: Page) -> None:
    headers = {"Authorization": f"OAuth {options.api_key}"}
    base = f"{options.api_url.rstrip('/')}/pages/{page.id}"
    source.add_groups(page, await get_json(client, f"{base}/component-groups", headers=headers))
    source.add_components(page, await get_json(client, f"{base}/components", headers=headers))
    async for listing in _pages(client, f"{base}/incidents", headers):
        source.add_events(page, listing)  # read first: v1 also carries the postmortems
    async for listing in _pages(client, f"{base}/subscribers", headers):
        source.add_subscribers(page, listing)


async def _pages(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> AsyncIterator[Node]:
    """v1 numbers its pages; a page shorter than PER_PAGE is the last."""
    number = 1

    def next_url(listing: Node) -> str | None:
        nonlocal number
        number += 1
        full = len(list(listing.items())) >= PER_PAGE
        return f"{url}?page={number}&per_page={PER_PAGE}" if full else None

    async for listing in paged(
        client, f"{url}?page=1&per_page={PER_PAGE}", next_url, headers=headers
    ):
        yield listing


async def run_import(database: Database, client: httpx.AsyncClient, options: Options) -> Report:
    page = await read_source(client, options)

    async def subscribers(context: Context) -> None:
        await _subscribers(context, page, consent_given=options.consent_given)

    return await write_page(
        database, page, options, source=f"statuspage:{page.id}", then=subscribers
    )


async def _subscribers(context: Context, page: Page, *, consent_given: bool) -> None:
    rows, sources, left_out = [], {}, Counter[str]()
    for subscriber in page.subscribers:
        if context.ledger.find("subscriber", subscriber.id) is not None:
            continue
        if subscriber.mode != "email" or subscriber.quarantined or not subscriber.email:
            left_out["quarantined" if subscriber.quarantined else subscriber.mode] += 1
            continue
        try:
            address = _EMAIL.validate_python(subscriber.email)
        except ValidationError:
            left_out["email that is not an address"] += 1
            continue
        components = [
            our_id
            for code in subscriber.component_ids
            if (our_id := context.ledger.find("component", code)) is not None
        ]
        rows.append(transfers.SubscriberRow(address, context.language, components))
        sources[address] = subscriber.id
    for kind, count in sorted(left_out.items()):
        context.report.note(f"subscribers not carried: {count} {kind}")
    if not rows:
        return
    done = await transfers.import_rows(
        context.session,
        rows=rows,
        consent_given=consent_given,
        actor=context.actor(),
        source=f"statuspage:{page.id}",
    )
    for address, our_id in done.ids_by_address.items():
        context.ledger.remember("subscriber", sources[address], our_id)
        context.report.did("subscribers", f"email subscriber {sources[address]}")
    if done.already_subscribed:
        context.report.note(f"subscribers already here: {done.already_subscribed}")
    if done.suppressed:
        context.report.note(f"subscribers who unsubscribed here, left out: {done.suppressed}")
