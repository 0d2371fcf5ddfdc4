"""/api/notices.json keeps one cached answer per set of components a filter names, in each
language: filters spelled differently, or padded with assets and networks nothing stands for,
share it, so a poller making up queries cannot fill the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from statuspage.app import StatusApp, create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.statuspage.public.test_networks import _networks, _usdt_trc20_incident

NOTICES = "/api/notices.json"


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[StatusApp]:
    made = create_app(settings, database=database)
    yield made
    await made.running.cache.close()


def _variants(app: StatusApp) -> list[tuple[str, str, str]]:
    return sorted(key for key in app.running.cache.entries if key[0] == NOTICES)


async def test_queries_naming_the_same_components_share_one_entry(
    app: StatusApp, support: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ids = await _networks(client, support)
        incident = await _usdt_trc20_incident(client, support, ids)
        deposit, withdrawal = ids["USDT-TRC20-deposit"], ids["USDT-TRC20-withdrawal"]
        spellings = [
            "asset=USDT&network=TRC20",
            "asset=usdt&network=trc20",
            f"components={withdrawal},{deposit}",
            f"components={deposit}&network=TRC20",
            *(f"components={deposit},{withdrawal}&asset=JUNK{n}" for n in range(60)),
            *(f"components={deposit},{withdrawal}&network=NOWHERE{n}" for n in range(60)),
        ]
        answers = [await client.get(f"{NOTICES}?{query}") for query in spellings]

        assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}
        assert [n["id"] for n in answers[0].json()["notices"]] == [incident["shortlink"]]
        assert _variants(app) == [(NOTICES, f"components={deposit}%2C{withdrawal}", "en")]

        etag = answers[0].headers["etag"]
        assert {a.headers["etag"] for a in answers} == {etag}
        unchanged = await client.get(
            f"{NOTICES}?components={deposit},{withdrawal}&asset=JUNK99",
            headers={"If-None-Match": etag},
        )
        assert (unchanged.status_code, unchanged.content) == (304, b"")

        # Another language is its own entry; another set of components too.
        await client.get(f"{NOTICES}?asset=USDT&network=TRC20&lang=zh-CN")
        btc = await client.get(f"{NOTICES}?asset=BTC&network=NOWHERE")
        assert btc.status_code == 404  # BTC on a network nothing stands for names nothing
        await client.get(f"{NOTICES}?asset=BTC")
        assert len(_variants(app)) == 3
