"""The subscribe form's limit per client address holds under concurrent requests."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from statuspage.app import create_app
from statuspage.config import Settings
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
