"""Public responses are rendered once per change and served as cached bytes with validators."""

from __future__ import annotations

import asyncio
import gzip

import httpx

from incidents import component_flows
from incidents.common.actor import Actor
from incidents.schemas import ComponentIn
from statuspage.app import StatusApp
from statuspage.db import Database
from statuspage.public.cache import PublicCache

API = "/api/staff"


async def test_etag_gzip_and_conditional_requests(client: httpx.AsyncClient) -> None:
    first = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('-gz"')
    assert "stale-while-revalidate=" in first.headers["cache-control"]
    assert first.headers["vary"] == "Accept-Encoding, Accept-Language, Cookie"

    plain = await client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"] == etag.replace("-gz", "")
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
    assert int(plain.headers["content-length"]) == len(plain.content)

    for validator in (etag, plain.headers["etag"], f"W/{etag}", f'"other", {etag}'):
        again = await client.get("/", headers={"If-None-Match": validator})
        assert again.status_code == 304, validator
        assert again.content == b""
        assert again.headers["etag"]
    changed = await client.get("/", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200

    since = await client.get("/", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    head = await client.head("/", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == plain.headers["content-length"]


async def test_a_staff_write_shows_at_once_and_changes_the_etag(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    before = await client.get("/")
    assert "All Systems Operational" in before.text
    await client.post(
        f"{API}/incidents",
        json={"name": "Deposits delayed", "body": "Looking.", "impact": "major"},
        headers=support,
    )
    after = await client.get("/", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert "Deposits delayed" in after.text
    assert "Partial System Outage" in after.text
    assert after.headers["etag"] != before.headers["etag"]


async def test_pages_render_once_per_change(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    cache = _cache(client)
    await client.get("/")
    entry = next(iter(cache.entries.values()))
    await client.get("/")
    await client.get("/?utm_source=x&_=123")  # junk parameters: served, not stored again
    assert list(cache.entries.values()) == [entry]
    await client.post(f"{API}/components", json={"name": "New"}, headers=support)
    # The page being read was rendered again before the write answered ...
    [again] = cache.entries.values()
    assert again.etag != entry.etag
    assert b"New" in again.body
    # ... and is what the next reader gets, without another render.
    after = await client.get("/", headers={"Accept-Encoding": "identity"})
    assert after.content == again.body
    assert list(cache.entries.values()) == [again]


async def test_two_writes_in_a_row_both_re_render_the_page_being_read(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    cache = _cache(client)
    await client.get("/")
    for name in ("Staking", "Margin"):
        await client.post(f"{API}/components", json={"name": name}, headers=support)
    [entry] = cache.entries.values()
    assert b"Staking" in entry.body
    assert b"Margin" in entry.body


async def test_readers_during_a_re_render_get_the_previous_page_at_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    cache = _cache(client)
    before = await client.get("/")
    # A change made by another instance, which this one hears of by polling.
    async with database.sessionmaker() as session, session.begin():
        await component_flows.create_component(
            session, data=ComponentIn(name="Staking rewards"), actor=Actor(None, "en")
        )
    async with cache._state_lock:  # the new render cannot load the state yet
        refreshing = asyncio.create_task(cache.refresh())
        for _ in range(500):
            if cache._rendering:
                break
            await asyncio.sleep(0.01)
        assert cache._rendering, "the change started a render before anyone asked"
        during = await asyncio.wait_for(client.get("/"), timeout=2)
        assert during.headers["etag"] == before.headers["etag"]
        assert "Staking rewards" not in during.text
        assert not refreshing.done()
    await asyncio.wait_for(refreshing, timeout=10)
    later = await client.get("/")
    assert later.headers["etag"] != before.headers["etag"]
    assert "Staking rewards" in later.text


def _cache(client: httpx.AsyncClient) -> PublicCache:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    assert isinstance(transport.app, StatusApp)
    return transport.app.running.cache
