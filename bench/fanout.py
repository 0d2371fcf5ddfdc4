"""Broadcast fan-out: one incident update to 10,000 webhook subscribers and to 10,000 email
subscribers, and the time from posting an update to its first delivery.

    bash bench/run fanout            (sets up, then runs this with its defaults)
    .venv/bin/python bench/fanout.py --subscribers 10000 --rounds 50 --concurrency 64
    .venv/bin/python bench/fanout.py --profile webhook      (cProfile of the worker, to stderr)

Every measured party is its own process, so each one's CPU and memory figures are its own:

- the receivers: a raw asyncio HTTP/1.1 keep-alive server and aiosmtpd, each counting what
  arrives (and by which path or recipient, to catch a duplicate) and answering 200 / 250;
- the worker: a fresh process per run that starts the real `DeliveryWorker` loop, posts the
  update through `flows.post_update` (which writes the event and its deliveries in the same
  transaction), wakes the worker as the app's after-write hook does, and waits until the last
  delivery is recorded;
- the baseline: a fresh process sending the same message (captured by the receiver from the
  worker's own traffic) the same number of times at the same concurrency, with no database:
  `httpx.AsyncClient.post` for webhooks, `aiosmtplib.send` for email (and for email also
  `SMTP.sendmail` over as many kept-open connections as the worker keeps). It runs before and
  after the worker's run; the worker's throughput is printed as a ratio of their mean.

Time-to-first-delivery: the worker loop runs in the background; updates are posted one at a
time to an incident with a few webhook subscribers, each measured from the commit to the
receiver getting the first message of that update (CLOCK_MONOTONIC is shared by processes).
Once with `worker.wake()` after the commit (what the app does), once by polling alone.

Staff posting during a fan-out: while the worker sends one update to 2,000 webhook
subscribers, `post_update` (notify off, another incident) every 0.25 s; counts the attempts
SQLite refuses with "database is locked" (each retried after 5 ms).

    --what-if         the proposed fixes applied from outside the app, nothing in it edited:
                      sniffio present, 8 httpx pools of 8 connections, BEGIN IMMEDIATE
    --slow-receivers  2,000 webhook subscribers of which one in 250 answers after 2 s
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import dataclasses
import io
import json
import os
import platform
import pstats
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from incidents.common.actor import Actor

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UPDATE_BODY = (
    "Withdrawals of ETH are delayed while a node catches up. Deposits are not affected. "
    "We will post again within 30 minutes."
)

SLOW_SECONDS = 2.0  # how long a slow webhook receiver (--slow-receivers) takes to answer


# -- receivers (own processes) ------------------------------------------------------------


class Tally:
    """What a receiver got since the last reset: per key (path or recipient), arrival times."""

    def __init__(self, baseline_prefix: str) -> None:
        self.baseline_prefix = baseline_prefix
        self.sample: dict[str, Any] | None = None
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.keys: dict[str, int] = {}
        self.arrivals: list[float] = []

    def note(self, key: str, sample: dict[str, Any] | None = None) -> None:
        self.arrivals.append(time.monotonic())
        self.total += 1
        self.keys[key] = self.keys.get(key, 0) + 1
        if sample is not None and not key.startswith(self.baseline_prefix):
            self.sample = sample
        if self.waiters:
            for count, future in [w for w in self.waiters if self.total >= w[0]]:
                self.waiters.remove((count, future))
                if not future.done():
                    future.set_result(None)

    def stats(self, since: int | None) -> dict[str, Any]:
        found: dict[str, Any] = {
            "total": self.total,
            "distinct": len(self.keys),
            "duplicated": sum(1 for n in self.keys.values() if n > 1),
            "first": self.arrivals[0] if self.arrivals else None,
            "last": self.arrivals[-1] if self.arrivals else None,
        }
        if since is not None:
            found["arrivals"] = self.arrivals[since:]
        return found

    async def wait(self, count: int) -> None:
        if self.total < count:
            future = asyncio.get_running_loop().create_future()
            self.waiters.append((count, future))
            await future


class HttpServer(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server: POSTs are counted and answered 200 "ok";
    GET /_stats, GET /_wait?count=N&since=K (long poll), GET /_sample and POST /_reset
    control the tally."""

    OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"

    def __init__(self, tally: Tally, *, count_posts: bool) -> None:
        self.tally = tally
        self.count_posts = count_posts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.handle(method, target, headers, body)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        assert self.transport is not None
        if not target.startswith("/_"):
            if self.count_posts and method == "POST":
                keep = {k: v for k, v in headers.items() if k.startswith(("webhook-", "content-t"))}
                self.tally.note(target, {"headers": keep, "body": body.decode()})
            if target.startswith("/slow/"):  # a slow receiver: answers after SLOW_SECONDS
                asyncio.get_running_loop().call_later(SLOW_SECONDS, self.transport.write, self.OK)
            else:
                self.transport.write(self.OK)
            return
        parts = urlsplit(target)
        query = {key: int(values[0]) for key, values in parse_qs(parts.query).items()}
        if parts.path == "/_reset":
            self.tally.reset()
            self.reply({"reset": True})
        elif parts.path == "/_sample":
            self.reply(self.tally.sample or {})
        elif parts.path == "/_stats":
            self.reply(self.tally.stats(query.get("since")))
        elif parts.path == "/_wait":
            asyncio.get_running_loop().create_task(self.wait(query["count"], query.get("since")))
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")

    async def wait(self, count: int, since: int | None) -> None:
        await self.tally.wait(count)
        self.reply(self.tally.stats(since))

    def reply(self, data: object) -> None:
        assert self.transport is not None
        raw = json.dumps(data).encode()
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(raw)}\r\n\r\n"
        self.transport.write(head.encode() + raw)


class Inbox:
    """aiosmtpd handler: counts each message by recipient, keeps the last one as the sample."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sample = {
            "mail_from": envelope.mail_from,
            "content": base64.b64encode(envelope.original_content or envelope.content).decode(),
        }
        self.tally.note(",".join(envelope.rcpt_tos), sample)
        return "250 Message accepted"


def _exit_with_parent() -> None:
    """Receivers end when the orchestrating process does (its end of our stdin closes)."""

    def watch() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


async def serve_http() -> None:
    _exit_with_parent()
    tally = Tally("/base/")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HttpServer(tally, count_posts=True), "127.0.0.1", 0, backlog=1024
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


async def serve_smtp() -> None:
    from aiosmtpd.smtp import SMTP

    _exit_with_parent()
    tally = Tally("base")
    loop = asyncio.get_running_loop()
    inbox = Inbox(tally)
    smtp = await loop.create_server(
        lambda: SMTP(inbox, hostname="receiver.bench", loop=loop), "127.0.0.1", 0, backlog=1024
    )
    control = await loop.create_server(lambda: HttpServer(tally, count_posts=False), "127.0.0.1", 0)
    print(smtp.sockets[0].getsockname()[1], control.sockets[0].getsockname()[1], flush=True)
    await asyncio.gather(smtp.serve_forever(), control.serve_forever())


# -- measuring a process from inside ----------------------------------------------------------


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# -- what-if variants (only with --what-if): the proposed fixes, applied from outside -------


def _apply_variant(variant: dict[str, Any]) -> None:
    if variant.get("immediate"):
        # As if statuspage.db began SQLite transactions with BEGIN IMMEDIATE (before connect()).
        from statuspage import db

        db._sqlite_begin = lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
    if variant.get("sniffio"):
        # As if `sniffio` were installed: httpcore imports it lazily on every lock it makes,
        # and a failed import is not cached, so without it each call searches sys.path.
        stub = types.ModuleType("sniffio")
        stub.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = stub


class ShardedClient:
    """The same total connections split over several httpx pools of `per` connections each
    (httpcore 1.0.9's pool does O(pool size²) work per request). Chooses a pool by URL."""

    def __init__(self, total: int, per: int) -> None:
        import httpx

        self.clients = [
            httpx.AsyncClient(
                limits=httpx.Limits(max_connections=per, max_keepalive_connections=per),
                follow_redirects=False,
                headers={"user-agent": "statuspage-broadcasts/1"},
            )
            for _ in range(max(total // per, 1))
        ]

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.clients[zlib.crc32(url.encode()) % len(self.clients)].post(url, **kwargs)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _client(config: dict[str, Any]) -> Any:
    per = config.get("variant", {}).get("pool")
    return ShardedClient(config["concurrency"], per) if per else None


# -- the worker's runs (own processes) ------------------------------------------------------


def _timed_worker_class() -> type:
    """The real DeliveryWorker, with its phases timed and the moment the expected number of
    deliveries has been recorded noted. Nothing it does is changed."""
    from statuspage.workers.delivery import DeliveryWorker

    class TimedWorker(DeliveryWorker):  # type: ignore[misc]
        def __init__(self, *args: Any, expect: int = 0, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.expect = expect
            self.recorded = 0
            self.batches = 0
            self.phases = {"claim": 0.0, "load": 0.0, "record": 0.0}
            self.first_claimed: float | None = None
            self.finished: float | None = None
            self.done = asyncio.Event()

        async def _claim(self, now: datetime, limit: int) -> list[int]:
            started = time.perf_counter()
            ids: list[int] = await super()._claim(now, limit)
            if ids or self.batches:
                self.phases["claim"] += time.perf_counter() - started
            if ids:
                self.batches += 1
                if self.first_claimed is None:
                    self.first_claimed = time.monotonic()
            return ids

        async def _load(self, ids: list[int]) -> Any:
            started = time.perf_counter()
            try:
                return await super()._load(ids)
            finally:
                self.phases["load"] += time.perf_counter() - started

        async def _record(self, jobs: Any) -> None:
            started = time.perf_counter()
            await super()._record(jobs)
            self.phases["record"] += time.perf_counter() - started
            self.recorded += len(jobs)
            if self.expect and self.recorded >= self.expect and self.finished is None:
                self.finished = time.monotonic()
                self.done.set()

    return TimedWorker


def _settings(config: dict[str, Any]) -> Any:
    from statuspage.config import Settings

    return dataclasses.replace(
        Settings(),
        database_url=config["url"],
        smtp_port=config.get("smtp_port", 25),
        delivery_concurrency=config["concurrency"],
        worker_poll_seconds=config.get("poll", 0.2),
        allow_private_webhook_hosts=True,  # the receivers are on 127.0.0.1
    )


async def _post_update(database: Any, incident_id: int, *, notify: bool = True) -> int:
    """Posts an update as staff would; returns how many tries failed with SQLite's "database
    is locked" first (each is retried at once, as a person would click again)."""
    from sqlalchemy.exc import OperationalError

    import incidents.common.staff  # noqa: F401  (registers the staff table the incident rows refer to)
    from incidents import flows
    from incidents.schemas import UpdateIn

    data = UpdateIn.model_validate({"status": "identified", "body": UPDATE_BODY, "notify": notify})
    for failed in range(100):
        actor = Actor(staff_id=None, default_language="en")
        try:
            async with database.sessionmaker() as session, session.begin():
                await flows.post_update(session, incident_id=incident_id, data=data, actor=actor)
            return failed
        except OperationalError as error:
            if "database is locked" not in str(error):
                raise
            await asyncio.sleep(0.005)
    raise RuntimeError("100 tries of post_update failed with 'database is locked'")


async def run_fanout(config: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from incidents.broadcasting.models import Delivery, DeliveryAttempt, DeliveryState
    from statuspage.db import connect

    _apply_variant(config.get("variant", {}))
    database = connect(config["url"])
    client = _client(config)
    worker = _timed_worker_class()(
        database, _settings(config), expect=config["expect"], client=client
    )
    await worker.start()
    await asyncio.sleep(0.5)  # the loop has made its first (empty) claim and loaded its key
    rss_before = _status_mb("VmRSS")
    profile = cProfile.Profile() if config.get("profile") else None
    cpu = _cpu_seconds()
    if profile:
        profile.enable()
    posting = time.monotonic()
    locked = await _post_update(database, config["incident"])
    committed = time.monotonic()
    worker.wake()  # what the app's after-write hook does
    with suppress(TimeoutError):
        await asyncio.wait_for(worker.done.wait(), config.get("timeout", 300))
    ended = worker.finished or time.monotonic()
    cpu = _cpu_seconds() - cpu
    rss_peak = _status_mb("VmHWM")
    if profile:
        profile.disable()
    await worker.close()
    probe = await _probe(worker, database)
    if client is not None:
        await client.aclose()
    async with database.sessionmaker() as session:
        rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        states = {state: count for state, count in rows}
        attempts = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
    await database.dispose()
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
        print(out.getvalue(), file=sys.stderr)
    return {
        "posting": committed - posting,
        "locked": locked,
        "committed": committed,
        "first_claimed": worker.first_claimed,
        "finished": worker.finished,
        "seconds": ended - committed,
        "recorded": worker.recorded,
        "sent": states.get(DeliveryState.sent, 0),
        "states": {str(state): count for state, count in states.items()},
        "attempts": attempts,
        "batches": worker.batches,
        "phases": worker.phases,
        "cpu": cpu,
        "rss_before": rss_before,
        "rss_peak": rss_peak,
        "probe": probe,
    }


def _per_call_ms(call: Any, rounds: int = 300) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        call()
    return 1000 * (time.perf_counter() - started) / rounds


async def _probe(worker: Any, database: Any) -> dict[str, float]:
    """After the measured run: what building one message costs, in this process, alone."""
    from sqlalchemy import func, select

    from incidents.broadcasting.models import Channel, Delivery
    from statuspage.channels import formats

    async with database.sessionmaker() as session:
        last = await session.scalar(select(func.max(Delivery.id)))
    [job] = await worker._load([last])
    delivery, now = job.delivery, worker.clock()
    if delivery.subscription.channel == Channel.email:
        from statuspage.channels.emails import BroadcastEmail

        message = worker._message(delivery)
        return {
            "template": _per_call_ms(
                lambda: BroadcastEmail(message=message, site=worker.site, settings=worker.settings)
            ),
            "build": _per_call_ms(lambda: worker._email(delivery, "msg_probe", now)),
        }
    body = worker._webhook_body(delivery)
    return {
        "build": _per_call_ms(
            lambda: formats.signed_webhook(
                delivery.subscription, message_id="msg_probe", body=body, now=now
            )
        )
    }


async def run_ttfd(config: dict[str, Any]) -> dict[str, Any]:
    """Updates one at a time; for each, commit → the receiver's first message of it."""
    import httpx
    from sqlalchemy import func, select

    from incidents.broadcasting.models import Delivery, DeliveryState
    from statuspage.db import connect

    database = connect(config["url"])
    settings = _settings(config)
    worker = _timed_worker_class()(database, settings)
    await worker.start()
    await asyncio.sleep(0.5)
    receiver = httpx.AsyncClient(base_url=config["receiver"], timeout=30)
    fanout = config["subscribers"]
    chance = random.Random(11)  # noqa: S311 - when to post, relative to the worker's poll timer
    found: dict[str, list[float]] = {}
    lost = locked = 0
    for mode in ("wake", "poll"):
        firsts = found.setdefault(mode, [])
        for _ in range(config["rounds"]):
            await asyncio.sleep(chance.uniform(0, settings.worker_poll_seconds))
            seen = (await receiver.get("/_stats")).json()["total"]
            locked += await _post_update(database, config["incident"])
            committed = time.monotonic()
            if mode == "wake":
                worker.wake()
            got = await receiver.get(f"/_wait?count={seen + fanout}&since={seen}")
            arrivals = got.json()["arrivals"]
            firsts.append(min(arrivals) - committed)
            while True:  # the next update's deliveries queue behind unrecorded ones: wait
                async with database.sessionmaker() as session:
                    pending = await session.scalar(
                        select(func.count()).where(Delivery.state == DeliveryState.pending)
                    )
                if not pending:
                    break
                await asyncio.sleep(0.01)
            if mode == "wake" and firsts[-1] > settings.worker_poll_seconds / 2:
                lost += 1
    await receiver.aclose()
    await worker.close()
    await database.dispose()
    return {
        "firsts": found,
        "slow_wakes": lost,
        "locked": locked,
        "poll": settings.worker_poll_seconds,
    }


async def run_contention(config: dict[str, Any]) -> dict[str, Any]:
    """Staff keep posting updates (notify off, to another incident) while the worker fans
    out an update: how many posts SQLite refuses with "database is locked"."""
    from statuspage.db import connect

    _apply_variant(config.get("variant", {}))
    database = connect(config["url"])
    worker = _timed_worker_class()(database, _settings(config), expect=config["expect"])
    await worker.start()
    await asyncio.sleep(0.5)
    await _post_update(database, config["incident"])
    committed = time.monotonic()
    worker.wake()
    failures: list[int] = []
    latencies: list[float] = []
    while not worker.done.is_set() and time.monotonic() - committed < 300:
        started = time.monotonic()
        failures.append(await _post_update(database, config["quiet"], notify=False))
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(config["every"])
    seconds = (worker.finished or time.monotonic()) - committed
    await worker.close()
    await database.dispose()
    return {
        "seconds": seconds,
        "recorded": worker.recorded,
        "failures": failures,
        "latencies": latencies,
    }


# -- the baselines (own processes) ------------------------------------------------------------


async def _sample(base: str) -> dict[str, Any]:
    """The message the receiver last got from the worker: the baseline sends the same."""
    import httpx

    async with httpx.AsyncClient() as client:
        return dict((await client.get(base + "/_sample")).json())


async def run_baseline_http(config: dict[str, Any]) -> dict[str, Any]:
    import httpx

    _apply_variant(config.get("variant", {}))
    base = config["receiver"]
    sample = await _sample(base)
    body = sample["body"].encode()
    limit = config["concurrency"]
    client = _client(config) or httpx.AsyncClient(
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        follow_redirects=False,
        headers={"user-agent": "statuspage-broadcasts/1"},
    )
    numbers = iter(range(config["count"]))
    statuses: dict[int, int] = {}

    async def sender() -> None:
        for number in numbers:
            response = await client.post(
                f"{base}/base/{number}", content=body, headers=sample["headers"], timeout=10
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    cpu = _cpu_seconds()
    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(limit)))
    seconds = time.monotonic() - started
    cpu = _cpu_seconds() - cpu
    await client.aclose()
    return {
        "seconds": seconds,
        "ok": statuses.get(200, 0),
        "cpu": cpu,
        "rss_peak": _status_mb("VmHWM"),
        "body_bytes": len(body),
    }


async def run_baseline_smtp(config: dict[str, Any]) -> dict[str, Any]:
    """`aiosmtplib.send` per message (a connection each), or with `sessions`: that many
    connections kept open, each sending one message after another with `sendmail`."""
    import aiosmtplib

    sample = await _sample(config["control"])
    content = base64.b64decode(sample["content"])
    numbers = iter(range(config["count"]))
    ok = 0
    sessions = config.get("sessions", 0)

    async def sender() -> None:
        nonlocal ok
        for number in numbers:
            errors, _reply = await aiosmtplib.send(
                content,
                sender=sample["mail_from"],
                recipients=[f"base{number}@example.com"],
                hostname="127.0.0.1",
                port=config["smtp_port"],
                timeout=10,
            )
            ok += not errors

    async def session() -> None:
        nonlocal ok
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=config["smtp_port"]) as client:
            for number in numbers:
                errors, _reply = await client.sendmail(
                    sample["mail_from"], [f"base{number}@example.com"], content, timeout=10
                )
                ok += not errors

    cpu = _cpu_seconds()
    started = time.monotonic()
    if sessions:
        await asyncio.gather(*(session() for _ in range(sessions)))
    else:
        await asyncio.gather(*(sender() for _ in range(config["concurrency"])))
    seconds = time.monotonic() - started
    cpu = _cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "ok": ok,
        "cpu": cpu,
        "rss_peak": _status_mb("VmHWM"),
        "body_bytes": len(content),
    }


async def run_baseline_smtp_kept(config: dict[str, Any]) -> dict[str, Any]:
    from statuspage.workers.delivery import _SMTP_SESSIONS

    return await run_baseline_smtp(
        {**config, "sessions": min(config["concurrency"], _SMTP_SESSIONS)}
    )


ROLES = {
    "fanout": run_fanout,
    "ttfd": run_ttfd,
    "contention": run_contention,
    "baseline-http": run_baseline_http,
    "baseline-smtp": run_baseline_smtp,
    "baseline-smtp-kept": run_baseline_smtp_kept,
}


# -- building the databases (in the orchestrating process, before any measurement) ----------


def _webhook_secret() -> str:
    """As incidents.broadcasting.subscriptions._new_webhook_secret makes them."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def build(
    url: str,
    *,
    channel: str,
    subscribers: int,
    address: str,
    incidents: int = 1,
    slow_every: int = 0,
    slow_address: str = "",
) -> list[int]:
    """A migrated database with one component, open incidents (opened without notifying)
    and `subscribers` confirmed subscriptions to everything. Returns the incidents' ids."""
    from sqlalchemy import insert

    from incidents import component_flows, flows
    from incidents.broadcasting.models import Audience, Channel, Subscription
    from incidents.schemas import ComponentIn, IncidentOpen
    from statuspage.db import connect, migrate

    database = connect(url)
    await migrate(database)
    now = datetime.now(UTC)
    rows = [
        {
            "channel": Channel(channel),
            "audience": Audience.public,
            "address": (
                slow_address if slow_every and number % slow_every == slow_every - 1 else address
            ).format(n=number),
            "language": "en",
            "options": {},
            "secret": _webhook_secret() if channel == "webhook" else None,
            "all_components": True,
            "confirmed_at": now,
            "consecutive_failures": 0,
            "token_version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for number in range(subscribers)
    ]
    actor = Actor(staff_id=None, default_language="en")
    async with database.sessionmaker() as session, session.begin():
        component = await component_flows.create_component(
            session, data=ComponentIn(name="ETH deposits and withdrawals"), actor=actor
        )
        opened = [
            await flows.open_incident(
                session,
                data=IncidentOpen.model_validate(
                    {
                        "name": "ETH withdrawals delayed",
                        "body": "We are looking into delayed ETH withdrawals.",
                        "components": {component.id: "partial_outage"},
                        "notify": False,
                    }
                ),
                actor=actor,
            )
            for _ in range(incidents)
        ]
        await session.execute(insert(Subscription), rows)
    await database.dispose()
    return [int(incident.id) for incident in opened]


# -- orchestration ----------------------------------------------------------------------------


def child(role: str, config: dict[str, Any], *, stderr: Any = None) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, __file__, "--role", role, json.dumps(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.stderr:
        print(done.stderr, file=stderr or sys.stderr, end="")
    if done.returncode != 0:
        raise RuntimeError(f"{role} failed with exit code {done.returncode}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def receiver(kind: str) -> Iterator[tuple[int, list[int]]]:
    process = subprocess.Popen(
        [PYTHON, __file__, "--role", f"{kind}-receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ports = [int(port) for port in process.stdout.readline().split()]
        yield process.pid, ports
    finally:
        process.terminate()
        process.wait(timeout=10)


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _control(base: str, path: str) -> dict[str, Any]:
    import httpx

    if path == "/_reset":
        return dict(httpx.post(base + path).json())
    return dict(httpx.get(base + path).json())


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


def _measured(pid: int, control: str, role: str, config: dict[str, Any]) -> dict[str, Any]:
    """One child run against a freshly reset receiver; adds what the receiver got and the
    receiver process's CPU seconds meanwhile."""
    _control(control, "/_reset")
    cpu = _proc_cpu(pid)
    found = child(role, config)
    found["receiver_cpu"] = _proc_cpu(pid) - cpu
    found["receiver"] = _control(control, "/_stats")
    _control(control, "/_reset")
    return found


def fanout_scenario(
    *,
    channel: str,
    folder: Path,
    args: argparse.Namespace,
    pid: int,
    control: str,
    address: str,
    baseline_role: str,
    baseline_config: dict[str, Any],
    extra: dict[str, Any],
    variant: dict[str, Any] | None = None,
    tag: str = "",
    kept_role: str = "",
) -> dict[str, Any]:
    big = f"sqlite:///{folder / f'{channel}{tag}.db'}"
    small = f"sqlite:///{folder / f'{channel}{tag}-rehearsal.db'}"
    [incident] = asyncio.run(
        build(big, channel=channel, subscribers=args.subscribers, address=address)
    )
    [rehearsal] = asyncio.run(build(small, channel=channel, subscribers=20, address=address))
    common = {"concurrency": args.concurrency, "variant": variant or {}, **extra}
    # A small rehearsal warms the receivers and gives the baseline the worker's own message.
    _measured(pid, control, "fanout", {**common, "url": small, "incident": rehearsal, "expect": 20})
    counts = {**baseline_config, **common, "count": args.subscribers}
    before = _measured(pid, control, baseline_role, counts)
    kept = [_measured(pid, control, kept_role, counts)] if kept_role else []
    profile = args.profile == channel and not variant
    worker = _measured(
        pid,
        control,
        "fanout",
        {
            **common,
            "url": big,
            "incident": incident,
            "expect": args.subscribers,
            "profile": profile,
        },
    )
    after = _measured(pid, control, baseline_role, counts)
    if kept_role:
        kept.append(_measured(pid, control, kept_role, counts))
    return {"worker": worker, "baselines": [before, after], "kept": kept}


def _verified(run: dict[str, Any], n: int) -> bool:
    got = run["receiver"]
    return (
        run["finished"] is not None
        and run["sent"] == n
        and got["total"] == n
        and got["distinct"] == n
        and got["duplicated"] == 0
    )


def report_fanout(
    title: str, channel: str, result: dict[str, Any], args: argparse.Namespace, target: float
) -> str:
    worker = result["worker"]
    got = worker["receiver"]
    n = args.subscribers
    seconds = worker["seconds"]
    rate = n / seconds if worker["finished"] else 0.0
    rates = [b["ok"] / b["seconds"] for b in result["baselines"]]
    baseline = statistics.mean(rates)
    first = (got["first"] - worker["committed"]) * 1000 if got["first"] else float("nan")
    last_arrival = got["last"] - worker["committed"] if got["last"] else float("nan")
    met = _verified(worker, n) and seconds <= target
    phases = worker["phases"]
    per_delivery = 1000 * worker["cpu"] / n
    probe = worker["probe"]
    if channel == "email":
        probe_line = (
            f"  one email, built alone after the run: a subscriber's copy {probe['build']:.3f} ms"
            f" ({probe['build'] / per_delivery:.0%} of the worker's CPU per delivery); the shared"
            f" template, once per event and language, {probe['template']:.2f} ms"
        )
    else:
        probe_line = (
            f"  one webhook signed alone after the run: formats.signed_webhook {probe['build']:.3f} ms"
            f" ({probe['build'] / per_delivery:.1%} of the worker's CPU per delivery)"
        )
    lines = [
        f"== {title}: one update to {n} subscribers, DELIVERY_CONCURRENCY {args.concurrency} ==",
        f"  post_update (update + event + {n} deliveries, one transaction): {worker['posting']:.2f} s"
        + (
            f" (refused {worker['locked']}x with 'database is locked' first)"
            if worker["locked"]
            else ""
        ),
        f"  commit -> last delivery recorded as sent: {seconds:.2f} s"
        f"  (target <= {target:g} s: {'met' if met else 'MISSED'})",
        f"  deliveries/s: {rate:.0f}   (last message reached the receiver at {last_arrival:.2f} s)",
        f"  commit -> first message at the receiver: {first:.0f} ms",
        f"  verified: receiver got {got['total']}, {got['distinct']} distinct, "
        f"{got['duplicated']} duplicated; database: {worker['sent']} sent, "
        f"{worker['attempts']} attempts, states {worker['states']}",
        f"  worker process: peak RSS {worker['rss_peak']:.1f} MB ({worker['rss_before']:.1f} MB"
        f" before the update), CPU {worker['cpu']:.2f} s = {worker['cpu'] / seconds:.0%}"
        f" of one core, {per_delivery:.2f} ms per delivery",
        f"  {worker['batches']} claims, made while sends go on; claiming + loading + recording:"
        f" {phases['claim']:.2f} + {phases['load']:.2f} + {phases['record']:.2f} s",
        probe_line,
        f"  receiver process CPU meanwhile: {worker['receiver_cpu'] / seconds:.0%} of one core",
    ]
    what = "httpx.AsyncClient.post" if channel == "webhook" else "aiosmtplib.send"
    for label, b, r in zip(("before", "after"), result["baselines"], rates, strict=True):
        lines.append(
            f"  baseline {label}: {what}, the same {b['body_bytes']} B message, concurrency "
            f"{args.concurrency}, no database: {b['ok']}/{n} ok in {b['seconds']:.2f} s = {r:.0f}/s;"
            f" CPU {b['cpu'] / b['seconds']:.0%}, peak RSS {b['rss_peak']:.1f} MB;"
            f" receiver got {b['receiver']['distinct']} distinct, its CPU"
            f" {b['receiver_cpu'] / b['seconds']:.0%}"
        )
    lines.append(
        f"  worker / baseline (mean {baseline:.0f}/s): {rate / baseline:.2f}x"
        f"   [the baseline alone would take {n / baseline:.2f} s for {n}]"
    )
    lines += _kept_lines(result.get("kept", []), rate, n)
    return "\n".join(lines)


def _kept_lines(kept: list[dict[str, Any]], rate: float, n: int) -> list[str]:
    """The bare loop with SMTP sessions kept open, as the worker keeps them."""
    if not kept:
        return []
    rates = [b["ok"] / b["seconds"] for b in kept]
    lines = [
        f"  baseline {label}, sessions kept: aiosmtplib.SMTP.sendmail on open connections, no"
        f" database: {b['ok']}/{n} ok in {b['seconds']:.2f} s = {r:.0f}/s; CPU"
        f" {b['cpu'] / b['seconds']:.0%}; receiver CPU {b['receiver_cpu'] / b['seconds']:.0%}"
        for label, b, r in zip(("before", "after"), kept, rates, strict=True)
    ]
    mean = statistics.mean(rates)
    lines.append(f"  worker / baseline with sessions kept (mean {mean:.0f}/s): {rate / mean:.2f}x")
    return lines


def report_what_if(rows: list[tuple[str, dict[str, Any]]], n: int) -> str:
    lines = [
        f"== what-if (webhooks, {n} subscribers): the proposed httpx fixes applied from outside ==",
        f"  {'variant':44} {'worker s':>9} {'deliv/s':>8} {'baseline/s':>11} {'ratio':>6} {'ok':>3}",
    ]
    for label, result in rows:
        worker = result["worker"]
        rate = n / worker["seconds"]
        baseline = statistics.mean(b["ok"] / b["seconds"] for b in result["baselines"])
        lines.append(
            f"  {label:44} {worker['seconds']:9.2f} {rate:8.0f} {baseline:11.0f} "
            f"{rate / baseline:6.2f} {'yes' if _verified(worker, n) else 'NO':>3}"
        )
    return "\n".join(lines)


def report_ttfd(result: dict[str, Any], subscribers: int) -> str:
    lines = [
        f"== time to first delivery: {len(result['firsts']['wake'])} updates, one at a time, "
        f"to {subscribers} webhook subscribers; worker loop polling every {result['poll']:g} s =="
    ]
    for mode, label in (("wake", "with worker.wake() after the commit"), ("poll", "polling only")):
        values = [1000 * v for v in result["firsts"][mode]]
        p99 = _quantile(values, 0.99)
        lines.append(
            f"  {label:38} p50 {statistics.median(values):6.1f} ms  p99 {p99:6.1f} ms  "
            f"max {max(values):6.1f} ms  (target p99 < 1000 ms: {'met' if p99 < 1000 else 'MISSED'})"
        )
    lines.append(
        f"  posts refused at first with SQLite's 'database is locked' (retried): {result['locked']}"
        f" of {2 * len(result['firsts']['wake'])}"
    )
    lines.append(
        f"  with wake, updates that waited for the poll timer instead (> {result['poll'] / 2 * 1000:.0f} ms): "
        f"{result['slow_wakes']}"
    )
    return "\n".join(lines)


def slow_scenario(folder: Path, args: argparse.Namespace, pid: int, http: str) -> str:
    """Head-of-line blocking: a few slow receivers among many fast ones."""
    n, every = 2000, 250
    runs = {}
    for label, slow in (("all fast", 0), (f"1 in {every} slow", every)):
        url = f"sqlite:///{folder / f'slow-{slow}.db'}"
        [incident] = asyncio.run(
            build(
                url,
                channel="webhook",
                subscribers=n,
                address=http + "/hook/{n}",
                slow_every=slow,
                slow_address=http + "/slow/{n}",
            )
        )
        config = {"url": url, "incident": incident, "expect": n, "concurrency": args.concurrency}
        runs[label] = _measured(pid, http, "fanout", config)
    lines = [
        f"== slow receivers: one update to {n} webhook subscribers, of which none or one in "
        f"{every} answers after {SLOW_SECONDS:g} s (DELIVERY_CONCURRENCY {args.concurrency}) =="
    ]
    for label, run in runs.items():
        lines.append(
            f"  {label:14} {run['seconds']:6.2f} s = {n / run['seconds']:4.0f} deliveries/s in"
            f" {run['batches']} claims; verified {'yes' if _verified(run, n) else 'NO'}"
        )
    return "\n".join(lines)


def report_contention(result: dict[str, Any], n: int, every: float, label: str = "") -> str:
    failures, latencies = result["failures"], [1000 * v for v in result["latencies"]]
    refused = sum(1 for f in failures if f)
    return "\n".join(
        [
            f"== staff posting during a fan-out: the worker sends one update to {n} webhook "
            f"subscribers; meanwhile post_update (notify off, another incident) every {every:g} s"
            f"{label} ==",
            f"  fan-out: {result['recorded']} recorded in {result['seconds']:.2f} s",
            f"  post attempts refused at once with SQLite's 'database is locked' (the app would"
            f" answer 500): {sum(failures)} of {sum(failures) + len(failures)}; posts that needed"
            f" a retry (after 5 ms): {refused} of {len(failures)}",
            f"  post latency including retries: p50 {statistics.median(latencies):.0f} ms,"
            f" max {max(latencies):.0f} ms",
        ]
    )


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--role":
        role = sys.argv[2]
        if role == "http-receiver":
            asyncio.run(serve_http())
        elif role == "smtp-receiver":
            asyncio.run(serve_smtp())
        else:
            print(json.dumps(asyncio.run(ROLES[role](json.loads(sys.argv[3])))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64, help="DELIVERY_CONCURRENCY")
    parser.add_argument("--rounds", type=int, default=50, help="updates per TTFD mode")
    parser.add_argument("--ttfd-subscribers", type=int, default=10)
    parser.add_argument("--contention-subscribers", type=int, default=2000)
    parser.add_argument(
        "--slow-receivers",
        action="store_true",
        help=f"also: 2000 webhook subscribers, one in 250 answering after {SLOW_SECONDS:g} s",
    )
    parser.add_argument(
        "--only", choices=["webhook", "email", "ttfd", "contention"], action="append"
    )
    parser.add_argument("--profile", choices=["webhook", "email"])
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also run the proposed fixes, applied from outside: webhooks with sniffio present and"
        " with pools of 8; staff posting during a fan-out with BEGIN IMMEDIATE",
    )
    args = parser.parse_args()
    only = set(args.only or ["ttfd", "contention", "webhook", "email"])
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    print(
        f"machine: {platform.node()}, nproc {os.cpu_count()}, {cpu}, Python "
        f"{platform.python_version()}; SQLite files; receivers and worker in separate processes;"
        f" load average {os.getloadavg()[0]:.2f} at the start"
    )
    blocks = []
    with tempfile.TemporaryDirectory() as name, receiver("http") as (http_pid, [http_port]):
        folder = Path(name)
        http = f"http://127.0.0.1:{http_port}"
        if "ttfd" in only:
            url = f"sqlite:///{folder / 'ttfd.db'}"
            [incident] = asyncio.run(
                build(
                    url,
                    channel="webhook",
                    subscribers=args.ttfd_subscribers,
                    address=http + "/ttfd/{n}",
                )
            )
            config = {
                "url": url,
                "incident": incident,
                "receiver": http,
                "rounds": args.rounds,
                "subscribers": args.ttfd_subscribers,
                "concurrency": args.concurrency,
            }
            blocks.append(report_ttfd(child("ttfd", config), args.ttfd_subscribers))
            print(blocks[-1], flush=True)
            _control(http, "/_reset")
        if "contention" in only:
            variants = [("", {})]
            if args.what_if:
                variants.append((" [what-if: BEGIN IMMEDIATE]", {"immediate": True}))
            for label, variant in variants:
                url = f"sqlite:///{folder / f'contention-{len(label)}.db'}"
                incident, quiet = asyncio.run(
                    build(
                        url,
                        channel="webhook",
                        subscribers=args.contention_subscribers,
                        address=http + "/busy/{n}",
                        incidents=2,
                    )
                )
                config = {
                    "url": url,
                    "incident": incident,
                    "quiet": quiet,
                    "expect": args.contention_subscribers,
                    "concurrency": args.concurrency,
                    "every": 0.25,
                    "variant": variant,
                }
                found = child("contention", config)
                blocks.append(report_contention(found, args.contention_subscribers, 0.25, label))
                print(blocks[-1], flush=True)
                _control(http, "/_reset")
        if "webhook" in only:
            result = fanout_scenario(
                channel="webhook",
                folder=folder,
                args=args,
                pid=http_pid,
                control=http,
                address=http + "/hook/{n}",
                baseline_role="baseline-http",
                baseline_config={"receiver": http},
                extra={},
            )
            blocks.append(report_fanout("webhook fan-out", "webhook", result, args, 15))
            print(blocks[-1], flush=True)
            if args.what_if:
                rows = [("as is (single pool of 64, sniffio absent)", result)]
                for label, variant in (
                    ("sniffio present", {"sniffio": True}),
                    ("sniffio present + 8 pools of 8 connections", {"sniffio": True, "pool": 8}),
                ):
                    rows.append((label, fanout_scenario(
                        channel="webhook", folder=folder, args=args, pid=http_pid, control=http,
                        address=http + "/hook/{n}", baseline_role="baseline-http",
                        baseline_config={"receiver": http}, extra={}, variant=variant,
                        tag=f"-{len(rows)}",
                    )))  # fmt: skip
                blocks.append(report_what_if(rows, args.subscribers))
                print(blocks[-1], flush=True)
        if args.slow_receivers:
            blocks.append(slow_scenario(folder, args, http_pid, http))
            print(blocks[-1], flush=True)
        if "email" in only:
            with receiver("smtp") as (smtp_pid, [smtp_port, control_port]):
                control = f"http://127.0.0.1:{control_port}"
                result = fanout_scenario(
                    channel="email",
                    folder=folder,
                    args=args,
                    pid=smtp_pid,
                    control=control,
                    address="subscriber{n}@example.com",
                    baseline_role="baseline-smtp",
                    kept_role="baseline-smtp-kept",
                    baseline_config={"control": control, "smtp_port": smtp_port},
                    extra={"smtp_port": smtp_port},
                )
            blocks.append(report_fanout("email fan-out", "email", result, args, 30))
            print(blocks[-1], flush=True)


if __name__ == "__main__":
    main()
