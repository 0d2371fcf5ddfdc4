"""Worker processes for real: one killed with SIGKILL mid-delivery and restarted loses nothing,
two sharing the outbox send nothing twice, and a write through the web app wakes one at once."""

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

import httpx
import pytest
from sqlalchemy import func, select

from incidents import flows
from incidents.broadcasting.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.common.staff import StaffRole
from incidents.models import Component
from incidents.schemas import IncidentOpen
from statuspage.access import tokens as auth
from tests.conftest import Fresh
from tests.receivers import HttpReceiver, Reply
from tests.servers import free_port, serve_command, wait_until_up

pytestmark = pytest.mark.processes

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
def _worker(
    url: str, *, timeout: float = 1.0, margin: float = 12.0
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RUN_SCHEDULER": "false",
        "DELIVERY_CONCURRENCY": str(CONCURRENCY),
        # Short in the crash test, so the dead worker's leases run out soon: a lease lasts
        # the timeout plus the margin (the margin's 12 s default, for SQLite's busy timeout,
        # had the restarted worker wait 13 s for them; its writes never wait that long).
        "DELIVERY_TIMEOUT_SECONDS": str(timeout),
        "DELIVERY_LEASE_MARGIN_SECONDS": str(margin),
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
    with _worker(fresh.url, margin=2) as first:
        await _wait_for(lambda: len(http_receiver.received) >= 60, 30)
        first.send_signal(signal.SIGKILL)
        first.wait()
    arrived_before_restart = len(http_receiver.received)
    assert arrived_before_restart < subscribers  # it really died mid-way
    with _worker(fresh.url, margin=2):
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


@contextmanager
def _serving(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`statuspage serve` as deployed, stopped with SIGTERM at the end."""
    port = free_port()
    process = subprocess.Popen(serve_command(port), env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _children(parent: int) -> dict[int, str]:
    """The live child processes of `parent`: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found[int(entry)] = command
    return found


def _niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def _delivery_workers(serving: subprocess.Popen[bytes]) -> list[int]:
    return [
        pid for pid, command in _children(serving.pid).items() if "statuspage.cli worker" in command
    ]


async def test_serve_delivers_from_a_niced_child_process_it_restarts_and_stops(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": fresh.url,
        "RUN_SCHEDULER": "false",
        "WORKER_POLL_SECONDS": "0.05",
        "DELIVERY_TIMEOUT_SECONDS": "2",
        "DELIVERY_LEASE_MARGIN_SECONDS": "1",
        "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",
    }
    with _serving(env) as serving:
        await _wait_for(lambda: len(_delivery_workers(serving)) == 1, 30)
        [child] = _delivery_workers(serving)
        assert _niceness(child) == 5
        assert _niceness(serving.pid) == 0
        await _fan_out(fresh, http_receiver, 20)
        # All recorded as sent before the kill: nothing held under a dead worker's lease
        # (the crash tests cover that), so the replacement has the next messages at once.
        await _wait_for(lambda: _all_sent(fresh, 20), 30)

        os.kill(child, signal.SIGKILL)
        await _wait_for(lambda: _delivery_workers(serving) not in ([], [child]), 10)
        [replacement] = _delivery_workers(serving)
        async with fresh.database.sessionmaker() as session, session.begin():
            await flows.open_incident(
                session,
                data=IncidentOpen(name="BTC deposits slow", body="Confirmations are slow."),
                actor=ACTOR,
            )
        # Repeats of what the killed one sent but had not recorded keep their ids.
        await _wait_for(lambda: len(set(_ids(http_receiver))) >= 40, 30)
    # Stopping `serve` stopped its worker too.
    await _wait_for(lambda: not os.path.exists(f"/proc/{replacement}"), 10)
    assert {got.path for got in http_receiver.received} == {f"/hook/{n}" for n in range(20)}
    assert len(set(_ids(http_receiver))) == 40


async def test_a_write_through_the_web_app_wakes_the_worker_process_at_once(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    """The worker polls only once a minute here: a delivery within two seconds of the write
    is the wake-up's doing (NOTIFY on PostgreSQL, the socket beside the SQLite file)."""
    async with fresh.database.sessionmaker() as session, session.begin():
        staff = await auth.create_staff(
            session, email="support@example.com", name="Support", role=StaffRole.support,
            actor_id=None,
        )  # fmt: skip
        _, token = await auth.create_token(session, staff=staff, name="t", actor_id=None)
    await _fan_out(fresh, http_receiver, 1)  # one delivery due when the worker starts
    env = {
        **os.environ,
        "DATABASE_URL": fresh.url,
        "RUN_SCHEDULER": "false",
        "WORKER_POLL_SECONDS": "60",
        "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",
    }
    with _serving(env) as serving:
        await _wait_for(lambda: len(_delivery_workers(serving)) == 1, 30)
        # The first round sent what was due: the worker now waits for a wake-up or a minute.
        await _wait_for(lambda: _all_sent(fresh, 1), 30)
        await asyncio.sleep(0.5)
        base = f"http://127.0.0.1:{_port(serving)}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            opened = await client.post(
                "/api/staff/incidents",
                json={"name": "BTC deposits slow", "body": "Confirmations are slow."},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert opened.status_code == 201, opened.text
            written = time.monotonic()
            await _wait_for(lambda: len(http_receiver.received) == 2, 10)
            took = time.monotonic() - written
    assert took < 2.0, f"delivered {took:.1f} s after the write"
    last = json.loads(http_receiver.received[-1].body)
    assert last["type"] == "incident.opened"
    assert last["data"]["message"]["name"] == "BTC deposits slow"


def _port(serving: subprocess.Popen[bytes]) -> int:
    args = serving.args
    assert isinstance(args, list)
    return int(args[args.index("--port") + 1])
