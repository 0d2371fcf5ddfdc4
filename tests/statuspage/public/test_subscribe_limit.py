"""The subscribe form's limit per client address holds under concurrent requests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import httpx

from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.conftest import Fresh

REQUESTS = 20


async def test_concurrent_subscribes_from_one_address_pass_at_most_the_limit(
    settings: Settings, fresh: Fresh
) -> None:
    # A database of its own: the `database` fixture's sessions share one connection, and
    # so could not race.
    app = create_app(settings, database=fresh.database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = await asyncio.gather(
            *(
                client.post("/subscribe", data={"email": f"holder{number}@wallet.example"})
                for number in range(REQUESTS)
            )
        )
    await app.running.cache.close()
    assert Counter(answer.status_code for answer in answers) == {200: 5, 429: REQUESTS - 5}


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    settings: Settings, database: Database
) -> None:
    trusting = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))
    app = create_app(trusting, database=database)
    nginx = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=nginx, base_url="http://testserver") as client:

        async def subscribe(number: int, address: str) -> int:
            answer = await client.post(
                "/subscribe",
                data={"email": f"holder{number}@wallet.example"},
                headers={"x-forwarded-for": address},
            )
            return answer.status_code

        assert [await subscribe(number, "203.0.113.5") for number in range(6)] == [200] * 5 + [429]
        assert await subscribe(7, "198.51.100.7") == 200
        # A client that writes the header itself is not believed: nginx appends what it saw.
        assert await subscribe(8, "198.51.100.7, 203.0.113.5") == 429
    await app.running.cache.close()
