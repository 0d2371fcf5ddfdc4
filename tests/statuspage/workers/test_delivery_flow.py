"""The worker claims more while sends are in flight: a slow receiver holds up its own slot and
its own later messages, never everyone else's."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

from incidents import flows
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.models import Component
from incidents.schemas import IncidentOpen, UpdateIn
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver, Received, Reply

ACTOR = Actor(staff_id=None, default_language="en")
SLOW = 4.0  # seconds the slow receiver takes to answer (room for two xdist workers)


async def _two_messages_to(database: Database, urls: list[str]) -> None:
    """Webhook subscriptions for `urls` (in that order), then an incident and an update."""
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="ETH wallet")
        session.add(component)
        await session.flush()
        for url in urls:
            await create_subscription(
                session, data=SubscriptionIn(channel="webhook", url=url), actor=ACTOR
            )
        incident = await flows.open_incident(
            session,
            data=IncidentOpen(
                name="ETH withdrawals delayed",
                body="Withdrawals are queued.",
                components={component.id: "partial_outage"},
            ),
            actor=ACTOR,
        )
        await flows.post_update(
            session,
            incident_id=incident.id,
            data=UpdateIn.model_validate({"status": "identified", "body": "Node resyncing."}),
            actor=ACTOR,
        )


async def test_a_slow_receiver_holds_up_its_own_messages_and_nobody_elses(
    settings: Settings, database: Database, http_receiver: HttpReceiver
) -> None:
    arrivals: list[tuple[float, str, str]] = []
    lock = threading.Lock()

    def answer(got: Received) -> Reply:
        kind = json.loads(got.body)["type"]
        with lock:
            arrivals.append((time.monotonic(), got.path, kind))
        # Slow to answer its first message; its second waits for that answer all the same.
        slow = got.path == "/slow" and kind == "incident.opened"
        return Reply(200, delay=SLOW if slow else 0.0)

    http_receiver.answer = answer
    fast = [f"/fast/{n}" for n in range(12)]
    # The slow subscription comes first, so its message is in the first claim.
    await _two_messages_to(database, [http_receiver.url(path) for path in ["/slow", *fast]])
    worker = DeliveryWorker(
        database, dataclasses.replace(settings, delivery_concurrency=4, delivery_timeout_seconds=8)
    )
    try:
        assert await worker.drain() == 26
    finally:
        await worker.close()
    by_path: dict[str, list[str]] = {}
    for _, path, kind in arrivals:
        by_path.setdefault(path, []).append(kind)
    # Each subscription still gets its messages in order, exactly once.
    assert by_path == {path: ["incident.opened", "incident.updated"] for path in ["/slow", *fast]}
    slow_started = min(at for at, path, _ in arrivals if path == "/slow")
    fast_done = max(at for at, path, _ in arrivals if path != "/slow")
    # Both messages of every fast receiver went out while the slow one was still answering
    # its first: the other three slots kept working instead of waiting for it.
    assert fast_done < slow_started + SLOW, fast_done - slow_started
    # The slow receiver's own second message waited until its first was answered.
    [slow_second] = [
        at for at, path, kind in arrivals if (path, kind) == ("/slow", "incident.updated")
    ]
    assert slow_second >= slow_started + SLOW, slow_second - slow_started
