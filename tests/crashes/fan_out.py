"""An incident opened for many webhook subscribers; the server dies while it delivers."""

from __future__ import annotations

import random

import httpx

from statuspage.db import Database
from tests.crashes.outbox import admin_with_webhooks, check_deliveries, open_incident
from tests.crashes.outcome import Outcome
from tests.crashes.server import at_least, serving
from tests.receivers import HttpReceiver


async def crash_during_fan_out(
    database: Database, url: str, receiver: HttpReceiver, *, rng: random.Random, subscribers: int
) -> Outcome:
    async with serving(url, receiver) as app:
        headers = await admin_with_webhooks(database, receiver, subscribers)
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            await open_incident(client, headers)
        want = rng.randint(1, subscribers - 1)
        killed = await app.kill_when(at_least(lambda: len(receiver.received), want), 60)
        outcome = Outcome(crashes=1)
        arrived = len(receiver.received)  # in flight when frozen: answered, never recorded
        if not killed or arrived >= subscribers:
            outcome.notes.append(f"killed with {arrived} of {subscribers} messages arrived")
        app.start()
        outcome.add(await check_deliveries(database, receiver, 60))
        return outcome
