"""Worker processes for real: one killed with SIGKILL mid-delivery and restarted loses nothing,
and two sharing the outbox send nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from incidents import flows
from incidents.broadcast_models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState
from incidents.broadcast_schemas import SubscriptionIn
from incidents.flows import Actor
from incidents.models import Component
from incidents.schemas import IncidentOpen
from incidents.subscription_flows import create_subscription
from tests.conftest import Fresh
from tests.receivers import HttpReceiver, Reply

ACTOR = Actor(staff_id=None, default_language="en")
CONCURRENCY = 8


async def _fan_out(fresh: Fresh, receiver: HttpReceiver, subscribers: int) -> None:
    """`subscribers` webhooks and one incident: that many deliveries in the outbox."""
    async with fresh.database.sessionmaker() as session, session.begin():
        component = Component(name="ETH wallet")
        session.add(component)
        await session.flush()
        for number in range(subscribers):
            await create_subscription(
                session,
                data=SubscriptionIn(channel="webhook", url=receiver.url(f"/hook/{number}")),
                actor=ACTOR,
            )
        await flows.open_incident(
            session,
            data=IncidentOpen(
                name="ETH withdrawals delayed",
                body="Withdrawals are queued.",
                components={component.id: "partial_outage"},
            ),
            actor=ACTOR,
        )


@contextmanager
def _worker(url: str, *, timeout: float = 1.0) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RUN_SCHEDULER": "false",
        "DELIVERY_CONCURRENCY": str(CONCURRENCY),
        # Short in the crash test, so the dead worker's leases run out soon.
        "DELIVERY_TIMEOUT_SECONDS": str(timeout),
        "WORKER_POLL_SECONDS": "0.05",
        "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",  # the receiver is on 127.0.0.1
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "statuspage.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None,  # inherited: pytest shows it when a test fails
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_for(condition: Callable[[], bool | Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        met = condition()
        if not isinstance(met, bool):
            met = await met
        if met:
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def _states(fresh: Fresh) -> Counter[DeliveryState]:
    async with fresh.database.sessionmaker() as session:
        rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return Counter({state: count for state, count in rows.all()})


def _ids(receiver: HttpReceiver) -> list[str]:
    return [got.headers["webhook-id"] for got in receiver.received]


async def test_a_worker_killed_mid_delivery_and_restarted_loses_nothing(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    subscribers = 200
    http_receiver.default = Reply(200, delay=0.02)
    await _fan_out(fresh, http_receiver, subscribers)
    with _worker(fresh.url) as first:
        await _wait_for(lambda: len(http_receiver.received) >= 60, 30)
        first.send_signal(signal.SIGKILL)
        first.wait()
    arrived_before_restart = len(http_receiver.received)
    assert arrived_before_restart < subscribers  # it really died mid-way
    with _worker(fresh.url):
        await _wait_for(lambda: len(set(_ids(http_receiver))) >= subscribers, 60)
        await _wait_for(lambda: _all_sent(fresh, subscribers), 30)
    ids = _ids(http_receiver)
    # Nothing lost: every subscriber has its message.
    assert {got.path for got in http_receiver.received} == {
        f"/hook/{n}" for n in range(subscribers)
    }
    # Each message keeps its id across the crash, so a receiver that drops repeats by
    # webhook-id (as Standard Webhooks asks) acts on each exactly once. The raw repeats
    # are what was in flight or not yet recorded when the process died.
    assert len(set(ids)) == subscribers
    repeats = len(ids) - subscribers
    assert repeats <= 2 * CONCURRENCY + 64, repeats
    for got in http_receiver.received:
        assert json.loads(got.body)["type"] == "incident.opened"


async def _all_sent(fresh: Fresh, expected: int) -> bool:
    return (await _states(fresh))[DeliveryState.sent] == expected


async def test_two_workers_share_the_outbox_without_sending_anything_twice(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    subscribers = 400
    http_receiver.default = Reply(200, delay=0.005)
    await _fan_out(fresh, http_receiver, subscribers)
    with _worker(fresh.url, timeout=5), _worker(fresh.url, timeout=5):
        await _wait_for(lambda: len(http_receiver.received) >= subscribers, 60)
        await asyncio.sleep(0.5)  # time for a duplicate, if there were one, to arrive
    ids = _ids(http_receiver)
    assert len(ids) == subscribers
    assert len(set(ids)) == subscribers
    assert (await _states(fresh))[DeliveryState.sent] == subscribers
    async with fresh.database.sessionmaker() as session:
        workers = await session.scalar(select(func.count(func.distinct(DeliveryAttempt.worker))))
        sent = await session.scalar(
            select(func.count()).where(DeliveryAttempt.outcome == AttemptOutcome.sent)
        )
    assert workers == 2  # both took a share
    assert sent == subscribers
