"""Public responses are rendered once per change and served as cached bytes with validators."""

from __future__ import annotations

import asyncio
import gzip

import httpx

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
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    cache = transport.app.state.public_cache  # type: ignore[attr-defined]
    await client.get("/")
    entry = next(iter(cache.entries.values()))
    await client.get("/")
    await client.get("/?utm_source=x&_=123")  # junk parameters: served, not stored again
    assert list(cache.entries.values()) == [entry]
    await client.post(f"{API}/components", json={"name": "New"}, headers=support)
    assert cache.entries == {}


async def test_readers_during_a_re_render_get_the_previous_page_at_once(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    before = await client.get("/")
    opened = await client.post(
        f"{API}/incidents",
        json={"name": "Deposits delayed", "body": "Looking.", "impact": "major"},
        headers=support,
    )
    assert opened.status_code == 201
    # The first reader renders the new page; the second arrives while it renders.
    first, second = await asyncio.gather(client.get("/"), client.get("/"))
    assert "Deposits delayed" in first.text
    assert second.headers["etag"] == before.headers["etag"]
    assert "All Systems Operational" in second.text
    later = await client.get("/")
    assert later.headers["etag"] == first.headers["etag"]
