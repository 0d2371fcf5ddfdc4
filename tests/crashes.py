"""Crash scenarios: the real server killed with SIGKILL while it writes, fans out or issues."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from compensation.models import Batch, BatchLine, BatchState, CreditDelivery, LineNote, Voucher
from incidents.broadcast_models import BroadcastEvent, Delivery, DeliveryState, Subscription
from incidents.staff import StaffRole
from statuspage import auth
from statuspage.db import Database
from tests.compensation.helpers import HEADER, Scene, make_scene
from tests.receivers import HttpReceiver
from tests.servers import free_port, serve_command, wait_until_up

API = "/api/staff"
CREDIT_SECRET = "whsec_" + base64.b64encode(b"crash-test-credit-secret-32bytes").decode()


@dataclass
class Outcome:
    """What one scenario found after the restart; every count but `crashes` must be 0."""

    crashes: int = 0
    updates_lost: int = 0
    updates_half_written: int = 0
    messages_lost: int = 0
    duplicates: int = 0
    double_vouchers: int = 0
    redeliveries: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        for name in ("crashes", "updates_lost", "updates_half_written", "messages_lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duplicates += other.duplicates
        self.double_vouchers += other.double_vouchers
        self.redeliveries += other.redeliveries
        self.notes += other.notes


class App:
    """`statuspage serve` (granian supervisor and its worker) in its own process group, so a
    SIGKILL takes down the whole server at once, as a crashed machine or OOM kill would."""

    def __init__(self, url: str, receiver: HttpReceiver) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "RUN_SCHEDULER": "false",
            "DELIVERY_CONCURRENCY": "16",
            # Short, so the leases of deliveries the dead server held run out soon.
            "DELIVERY_TIMEOUT_SECONDS": "1",
            "WORKER_POLL_SECONDS": "0.05",
            "CACHE_POLL_SECONDS": "0.5",
            "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",  # the receiver is on 127.0.0.1
            "CREDIT_API_URL": receiver.url("/credit"),
            "CREDIT_API_SECRET": CREDIT_SECRET,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(self.port),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_up(self.base, seconds=60)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        _wait_for_port_free(self.port)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _wait_for_port_free(port: int) -> None:
    """The worker process dies with its group; wait until nothing answers on the port."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.2)
        except httpx.TransportError:
            return
        time.sleep(0.05)
    raise AssertionError(f"something still answers on port {port} after SIGKILL")


async def admin_headers(database: Database) -> dict[str, str]:
    async with database.sessionmaker() as session, session.begin():
        staff = await auth.create_staff(
            session, email="admin@crash.test", name="Admin", role=StaffRole.admin, actor_id=None
        )
        token = (await auth.create_token(session, staff=staff, name="t", actor_id=None))[1]
    return {"Authorization": f"Bearer {token}"}


async def open_incident(
    client: httpx.AsyncClient, headers: dict[str, str], receiver: HttpReceiver, subscribers: int
) -> int:
    """A component, `subscribers` webhooks following it, and an incident open on it."""
    made = await client.post(f"{API}/components", json={"name": "ETH wallet"}, headers=headers)
    assert made.status_code == 201, made.text
    component = int(made.json()["id"])
    for number in range(subscribers):
        added = await client.post(
            f"{API}/subscriptions",
            json={"channel": "webhook", "url": receiver.url(f"/hook/{number}")},
            headers=headers,
        )
        assert added.status_code == 201, added.text
    opened = await client.post(
        f"{API}/incidents",
        json={
            "name": "ETH withdrawals delayed",
            "body": "Withdrawals are queued.",
            "components": {str(component): "partial_outage"},
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    return int(opened.json()["id"])


@dataclass
class Posting:
    """Updates posted one after another: those answered 2xx, and the one cut off, if any."""

    acknowledged: list[str] = field(default_factory=list)
    cut_off: str | None = None


async def post_updates(
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


async def check_updates(
    client: httpx.AsyncClient, headers: dict[str, str], incident_id: int, posting: Posting
) -> Outcome:
    """Every acknowledged update is there; the cut-off one is there whole or not at all."""
    response = await client.get(f"{API}/incidents/{incident_id}", headers=headers)
    assert response.status_code == 200, response.text
    bodies = [update["body"] for update in response.json()["updates"]]
    outcome = Outcome(updates_lost=len(set(posting.acknowledged) - set(bodies)))
    unexpected = set(bodies) - set(posting.acknowledged) - {posting.cut_off}
    unexpected.discard("Withdrawals are queued.")
    outcome.updates_half_written = len(unexpected) + sum(
        1 for n in Counter(bodies).values() if n > 1
    )
    return outcome


async def check_deliveries(database: Database, receiver: HttpReceiver, seconds: float) -> Outcome:
    """Waits until every webhook delivery in the outbox is sent, then compares the receiver's
    webhook-ids with the outbox: each (event, subscription) once, at its subscriber's URL."""
    expected: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    while True:
        async with database.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Delivery.id, Delivery.state, Subscription.address).join(
                        Subscription, Subscription.id == Delivery.subscription_id
                    )
                )
            ).all()
        expected = {f"msg_{row.id}": row.address for row in rows}
        got = {item.headers["webhook-id"] for item in receiver.received}
        pending = [row for row in rows if row.state != DeliveryState.sent]
        if (not pending and set(expected) <= got) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # a late repeat, if there is one, arrives
    hooks = [item for item in receiver.received if not item.path.startswith("/credit")]
    ids = [item.headers["webhook-id"] for item in hooks]
    wrong_place = {
        item.headers["webhook-id"] for item in hooks
        if expected.get(item.headers["webhook-id"]) != receiver.url(item.path)
    }  # fmt: skip
    return Outcome(
        messages_lost=len(set(expected) - set(ids)),
        duplicates=len(set(ids) - set(expected)) + len(wrong_place),
        redeliveries=len(ids) - len(set(ids)),
    )


async def wait_until(condition: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.01)
    return False


async def compensation_scene(client: httpx.AsyncClient, database: Database) -> Scene:
    async def make_token(role: StaffRole, email: str | None = None) -> str:
        async with database.sessionmaker() as session, session.begin():
            staff = await auth.create_staff(
                session, email=email or f"{role.value}@x.io", name="Someone", role=role,
                actor_id=None,
            )  # fmt: skip
            return (await auth.create_token(session, staff=staff, name="t", actor_id=None))[1]

    return await make_scene(client, make_token)


async def approved_batch(scene: Scene, accounts: int) -> int:
    """An approved fee-refund batch over `accounts` accounts; every tenth paid no fee."""
    batch_id = await scene.batch(await scene.policy({"kind": "fee_refund", "percent": "100"}))
    rows = (
        f"acc-{n:06d},USDT,{'0' if n % 10 == 0 else '1.000001'},10,trade,Spot trading,"
        "2026-03-01T02:30:00Z"
        for n in range(accounts)
    )
    uploaded = await scene.upload(batch_id, HEADER + "\n".join(rows))
    assert uploaded.status_code == 200, uploaded.text
    approved = await scene.client.post(
        f"{API}/compensation/batches/{batch_id}/approve", headers=scene.approver
    )
    assert approved.status_code == 200, approved.text
    return batch_id


async def vouchers_written(database: Database, batch_id: int) -> int:
    async with database.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count()).where(Voucher.batch_id == batch_id)) or 0
        )


async def check_vouchers(database: Database, receiver: HttpReceiver, batch_id: int) -> Outcome:
    """One voucher per payable line and account, each told to the credit API, once."""
    async with database.sessionmaker() as session:
        state = await session.scalar(select(Batch.state).where(Batch.id == batch_id))
        payable = await session.scalar(
            select(func.count()).where(
                BatchLine.batch_id == batch_id,
                BatchLine.note.in_([LineNote.payable, LineNote.capped]),
            )
        )
        accounts = (
            await session.execute(
                select(Voucher.account_id, Voucher.asset).where(Voucher.batch_id == batch_id)
            )
        ).all()
        credits = await session.scalar(select(func.count()).select_from(CreditDelivery))
    outcome = Outcome(double_vouchers=len(accounts) - len(set(accounts)))
    if (
        state not in {BatchState.issued, BatchState.delivered}
        or len(accounts) != payable
        or credits != len(accounts)
    ):
        outcome.notes.append(
            f"batch {state}: {len(accounts)} vouchers, {payable} payable, {credits} credits"
        )
        outcome.double_vouchers += max(len(accounts) - (payable or 0), 0)
    expected = {f"voucher_{n}" for n in await _voucher_ids(database, batch_id)}
    got = [item.headers["webhook-id"] for item in receiver.to("/credit")]
    outcome.messages_lost += len(expected - set(got))
    outcome.duplicates += len(set(got) - expected)
    outcome.redeliveries += len(got) - len(set(got))
    return outcome


async def _voucher_ids(database: Database, batch_id: int) -> list[int]:
    async with database.sessionmaker() as session:
        return list(await session.scalars(select(Voucher.id).where(Voucher.batch_id == batch_id)))


async def crash_during_writes(
    database: Database, url: str, receiver: HttpReceiver, *, rng: random.Random, subscribers: int
) -> Outcome:
    """Staff post updates one after another; the server dies with one of them in flight."""
    app = App(url, receiver)
    app.start()
    try:
        headers = await admin_headers(database)
        posting = Posting()
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            incident_id = await open_incident(client, headers, receiver, subscribers)
            task = asyncio.create_task(post_updates(client, headers, incident_id, posting))
            want = rng.randint(1, 6)
            await wait_until(_at_least(lambda: len(posting.acknowledged), want), 60)
            await asyncio.sleep(rng.uniform(0, 0.05))
            app.kill()
            await task
        app.start()
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            outcome = await check_updates(client, headers, incident_id, posting)
            shown = await client.get(f"{API}/incidents/{incident_id}", headers=headers)
        outcome.updates_half_written += await _unbroadcast(
            database, incident_id, len(shown.json()["updates"]), subscribers
        )
        outcome.add(await check_deliveries(database, receiver, 60))
        outcome.crashes = 1
        return outcome
    finally:
        app.stop()


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


async def crash_during_fan_out(
    database: Database, url: str, receiver: HttpReceiver, *, rng: random.Random, subscribers: int
) -> Outcome:
    """An incident opened for `subscribers` webhooks; the server dies while it delivers."""
    app = App(url, receiver)
    app.start()
    try:
        headers = await admin_headers(database)
        async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
            await open_incident(client, headers, receiver, subscribers)
        want = rng.randint(1, subscribers - 1)
        await wait_until(_at_least(lambda: len(receiver.received), want), 60)
        in_flight = len(receiver.received)
        app.kill()
        outcome = Outcome(crashes=1)
        if in_flight >= subscribers:
            outcome.notes.append("the fan-out had finished before the kill")
        app.start()
        outcome.add(await check_deliveries(database, receiver, 60))
        return outcome
    finally:
        app.stop()


async def crash_during_issue(
    database: Database,
    url: str,
    receiver: HttpReceiver,
    *,
    rng: random.Random,
    accounts: int,
    latest: float = 0.3,
) -> Outcome:
    """Finance issues an approved batch; the server dies while it writes the vouchers."""
    app = App(url, receiver)
    app.start()
    try:
        async with httpx.AsyncClient(base_url=app.base, timeout=120) as client:
            scene = await compensation_scene(client, database)
            batch_id = await approved_batch(scene, accounts)
            issue = f"{API}/compensation/batches/{batch_id}/issue"
            task = asyncio.create_task(client.post(issue, headers=scene.drafter))
            # No polling here: a poll can miss the whole issue on a busy machine.
            await asyncio.sleep(rng.uniform(0.05, latest))
            app.kill()
            with contextlib.suppress(httpx.TransportError):
                await task
        outcome = Outcome(crashes=1)
        if await _issued(database, batch_id):
            outcome.notes.append("the issue had finished before the kill")
        app.start()
        async with httpx.AsyncClient(base_url=app.base, timeout=120) as client:
            scene.client = client
            again = await client.post(issue, headers=scene.drafter)
            assert again.status_code == 200, again.text
            expected = await vouchers_written(database, batch_id)
            await wait_until(_at_least(lambda: len(set(_ids(receiver, "/credit"))), expected), 120)
        await asyncio.sleep(0.3)
        outcome.add(await check_vouchers(database, receiver, batch_id))
        return outcome
    finally:
        app.stop()


def _at_least(count: Callable[[], int], target: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return count() >= target

    return reached


async def _issued(database: Database, batch_id: int) -> bool:
    async with database.sessionmaker() as session:
        state = await session.scalar(select(Batch.state).where(Batch.id == batch_id))
    return state in {BatchState.issued, BatchState.delivered}


def _ids(receiver: HttpReceiver, path: str) -> list[str]:
    return [item.headers["webhook-id"] for item in receiver.to(path)]
