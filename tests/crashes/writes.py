"""Staff post updates one after another; the server dies with one of them in flight."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from incidents.broadcasting.models import BroadcastEvent, Delivery
from statuspage.db import Database
from tests.crashes.outbox import API, admin_with_webhooks, check_deliveries, open_incident
from tests.crashes.outcome import Outcome
from tests.crashes.server import at_least, serving, wait_until
from tests.receivers import HttpReceiver


@dataclass
class Posting:
    """Updates posted one after another: those answered 2xx, and the one cut off, if any."""

    acknowledged: list[str] = field(default_factory=list)
    cut_off: str | None = None


async def crash_during_writes(
    database: Database, url: str, receiver: HttpReceiver, *, rng: random.Random, subscribers: int
) -> Outcome:
    async with serving(url, receiver) as app:
        headers = await admin_with_webhooks(database, receiver, subscribers)
        posting = Posting()
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            incident_id = await open_incident(client, headers)
            task = asyncio.create_task(_post_updates(client, headers, incident_id, posting))
            want = rng.randint(1, 6)
            await wait_until(at_least(lambda: len(posting.acknowledged), want), 60)
            await asyncio.sleep(rng.uniform(0, 0.05))
            app.kill()
            await task
        outcome = Outcome(crashes=1)
        if len(posting.acknowledged) < want or posting.cut_off is None:
            outcome.notes.append(f"killed after {len(posting.acknowledged)} of {want} updates")
        app.start()
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            shown = await client.get(f"{API}/incidents/{incident_id}", headers=headers)
        assert shown.status_code == 200, shown.text
        bodies = [update["body"] for update in shown.json()["updates"]]
        outcome.add(_check_updates(bodies, posting))
        outcome.updates_half_written += await _unbroadcast(
            database, incident_id, len(bodies), subscribers
        )
        outcome.add(await check_deliveries(database, receiver, 60))
        return outcome


async def _post_updates(
    client: httpx.AsyncClient, headers: dict[str, str], incident_id: int, posting: Posting
) -> None:
    for number in range(10_000):
        body = f"Update {number}: the node is catching up."
        try:
            response = await client.post(
                f"{API}/incidents/{incident_id}/updates",
                json={"status": "identified", "body": body},
                headers=headers,
            )
        except httpx.TransportError:
            posting.cut_off = body
            return
        assert response.status_code == 201, response.text
        posting.acknowledged.append(body)


def _check_updates(bodies: list[str], posting: Posting) -> Outcome:
    """Every acknowledged update is there; the cut-off one is there whole or not at all."""
    outcome = Outcome(updates_lost=len(set(posting.acknowledged) - set(bodies)))
    unexpected = set(bodies) - set(posting.acknowledged) - {posting.cut_off}
    unexpected.discard("Withdrawals are queued.")
    outcome.updates_half_written = len(unexpected) + sum(
        1 for n in Counter(bodies).values() if n > 1
    )
    return outcome


async def _unbroadcast(database: Database, incident_id: int, updates: int, each: int) -> int:
    """How many of the incident's updates lack their broadcast: one event per update (the
    opening one included), each with a delivery per subscriber, written in the same commit."""
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(BroadcastEvent.id, func.count(Delivery.id))
                .join(Delivery, Delivery.event_id == BroadcastEvent.id)
                .where(BroadcastEvent.incident_id == incident_id)
                .group_by(BroadcastEvent.id)
            )
        ).all()
    return abs(updates - len(rows)) + sum(1 for _, count in rows if count != each)
