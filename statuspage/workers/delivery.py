"""The delivery worker: claims due outbox rows, sends them, records every attempt.

Any number of workers (threads of one app, several instances, `statuspage worker`) share the
outbox. A claim is one UPDATE … RETURNING that leases the rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so workers never wait on each other); a worker that dies leaves its lease to expire
and the rows go out again with the same message id, which receivers use to drop a repeat.
Each subscription gets its messages in order: only its oldest pending delivery is ever due.

A worker keeps up to DELIVERY_CONCURRENCY sends in flight and claims more as sends finish, so
one slow receiver holds up one slot, not a whole batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import traceback
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased, joinedload

from incidents.broadcasting.models import Channel, Delivery, DeliveryState
from incidents.broadcasting.rules import Verdict
from incidents.common.db_types import utcnow
from statuspage.access.signing import Signer, load_signer
from statuspage.channels import egress, emails, formats, redaction
from statuspage.channels.messages import Message, compose
from statuspage.channels.redaction import redact
from statuspage.channels.senders import Result, SmtpPool, send_http
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.site import Site
from statuspage.workers.claims import claim_due
from statuspage.workers.delivery_records import Job, record
from statuspage.workers.loop import WorkerLoop

log = logging.getLogger(__name__)

DIRECT_KINDS = {"subscription.confirm", "subscription.test"}  # sent before confirmation too
_FLUSH_EVERY = 64  # results written in one transaction, at most
_FLUSH_AFTER = 0.05  # seconds: results are written at least this often while sends go on
_POOL_SIZE = 4  # connections per HTTP client
_SMTP_SESSIONS = 16  # open SMTP connections per worker, at most
_RENDERS_KEPT = 1000  # rendered messages kept per worker before starting afresh
# Within a round: how long to wait for a send to end before looking again, and how old the
# last claim may grow before claiming more even with no news of new rows.
_RECLAIM_SECONDS = 0.2


class DeliveryWorker(WorkerLoop):
    kind = "delivery worker"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        name: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.settings = settings
        self.site = Site.from_settings(settings)
        super().__init__(name=name, poll_seconds=settings.worker_poll_seconds)
        self.clock = clock
        self.concurrency = settings.delivery_concurrency
        # Given: used for everything as it is (without the private-address guard of the
        # worker's own clients), and closed by whoever gave it.
        self._client = client
        redaction.guard_httpx_log()
        self._clients: list[httpx.AsyncClient] = []
        self._smtp = SmtpPool(settings, size=min(self.concurrency, _SMTP_SESSIONS))
        self._signer: Signer | None = None
        self._messages: dict[tuple[int, str], Message] = {}
        self._bodies: dict[tuple[int, str], bytes] = {}
        self._emails: dict[tuple[int, str], emails.BroadcastEmail] = {}

    # -- running ---------------------------------------------------------------------------

    async def close(self) -> None:
        await self.stop()
        for client in self._clients:
            await client.aclose()
        self._clients = []
        await self._smtp.close()

    async def run_once(self) -> int:
        """Sends what is due until nothing more is, and records each result; returns how
        many deliveries that was."""
        return await _Pump(self).run()

    # -- claiming --------------------------------------------------------------------------

    async def _claim(self, now: datetime, limit: int) -> list[int]:
        earlier = aliased(Delivery)
        blocked = exists().where(
            and_(
                earlier.subscription_id == Delivery.subscription_id,
                earlier.state == DeliveryState.pending,
                earlier.id < Delivery.id,
            )
        )
        # Claimed rows go out at once. The lease covers the attempt (its timeout bounds it
        # all, a wait for a connection included) and writing its result, which may wait out
        # SQLite's 10 s busy timeout: the margin's default leaves room to spare.
        lease = timedelta(
            seconds=self.settings.delivery_timeout_seconds
            + self.settings.delivery_lease_margin_seconds
        )
        claim = claim_due(
            Delivery,
            pending=DeliveryState.pending,
            now=now,
            lease=lease,
            owner=self.name,
            limit=limit,
            order_by=(Delivery.next_attempt_at, Delivery.id),
            where=(~blocked,),
        )
        async with self.database.sessionmaker() as session, session.begin():
            if self._signer is None:
                self._signer = await load_signer(session, self.settings)
            return list((await session.scalars(claim)).all())

    async def _load(self, ids: list[int]) -> list[Job]:
        if not ids:
            return []
        query = (
            select(Delivery)
            .where(Delivery.id.in_(ids))
            .options(joinedload(Delivery.event), joinedload(Delivery.subscription))
            .order_by(Delivery.id)
        )
        async with self.database.reading() as session:
            return [Job(delivery) for delivery in (await session.scalars(query)).unique()]

    async def _record(self, jobs: list[Job]) -> None:
        async with self.database.sessionmaker() as session, session.begin():
            await record(session, jobs, now=self.clock(), worker=self.name)

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, job: Job) -> Job:
        hidden = redaction.secrets_of(job.delivery.subscription)
        try:
            result = await self._deliver(job.delivery)
        except Exception as error:  # a bug here must not lose the delivery: tried again later
            trace = "".join(traceback.format_exception(error))
            log.error("delivery %s: could not be sent\n%s", job.delivery.id, redact(trace, hidden))
            result = Result(Verdict.retry, None, 0, f"internal error: {error!r}"[:500])
        if result is not None and result.error is not None:
            result = dataclasses.replace(result, error=redact(result.error, hidden))
        job.result = result
        return job

    async def _deliver(self, delivery: Delivery) -> Result | None:
        subscription, event = delivery.subscription, delivery.event
        if subscription.disabled_at is not None:
            return None
        if subscription.confirmed_at is None and event.kind not in DIRECT_KINDS:
            return None
        now = self.clock()
        timeout = self.settings.delivery_timeout_seconds
        message_id = f"msg_{delivery.id}"
        channel = subscription.channel
        if channel == Channel.email:
            email = self._email(delivery, message_id, now)
            return await self._smtp.send(email, timeout=timeout)
        message = self._message(delivery)
        if channel == Channel.webhook:
            request = formats.signed_webhook(
                subscription, message_id=message_id, body=self._webhook_body(delivery), now=now
            )
        else:
            request = formats.chat(
                subscription,
                message,
                site=self.site,
                telegram_api=self.settings.telegram_api_url,
                now=now,
            )
        return await send_http(self._http(request.url), request, channel=channel, timeout=timeout)

    def _http(self, url: str) -> httpx.AsyncClient:
        """A pooled client for this URL: one of several small pools rather than one big one,
        because httpcore's pool does work in proportion to its size on every request (64
        connections in one pool sent a fan-out at half the speed of 8 pools of 8; 16 pools
        of 4 take another quarter off the CPU per request)."""
        if self._client is not None:
            return self._client
        if not self._clients:
            count = -(-self.concurrency // _POOL_SIZE)
            each = -(-self.concurrency // count)
            tls = egress.tls_context()  # one for all: each costs a CA bundle load
            # The Bot API's host is the operator's choice (maybe a server of their own on
            # this machine), not a subscriber's: it is trusted as configured.
            telegram = httpx.URL(self.settings.telegram_api_url).host
            self._clients = [
                httpx.AsyncClient(
                    transport=egress.transport(
                        allow_private=self.settings.allow_private_webhook_hosts,
                        trusted=[telegram],
                        limits=httpx.Limits(max_connections=each, max_keepalive_connections=each),
                        verify=tls,
                    ),
                    follow_redirects=False,
                    headers={"user-agent": "statuspage-broadcasts/1"},
                )
                for _ in range(count)
            ]
        return self._clients[zlib.crc32(url.encode()) % len(self._clients)]

    def _message(self, delivery: Delivery) -> Message:
        key = (delivery.event_id, delivery.subscription.language)
        if key not in self._messages:
            event = delivery.event
            self._messages[key] = compose(
                kind=event.kind, payload=event.payload, language=key[1], site=self.site
            )
        return self._messages[key]

    def _webhook_body(self, delivery: Delivery) -> bytes:
        key = (delivery.event_id, delivery.subscription.language)
        if key not in self._bodies:
            event = delivery.event
            self._bodies[key] = formats.webhook_body(
                kind=event.kind,
                created_at=event.created_at,
                payload=event.payload,
                message=self._message(delivery),
                site=self.site,
            )
        return self._bodies[key]

    def _email(self, delivery: Delivery, message_id: str, now: datetime) -> emails.Email:
        assert self._signer is not None
        subscription = delivery.subscription
        if delivery.event.kind == "subscription.confirm":
            return emails.confirmation_email(
                subscription=subscription,
                signer=self._signer,
                site=self.site,
                settings=self.settings,
                message_id=message_id,
                now=now,
            )
        key = (delivery.event_id, subscription.language)
        if key not in self._emails:
            self._emails[key] = emails.BroadcastEmail(
                message=self._message(delivery), site=self.site, settings=self.settings
            )
        return self._emails[key].to(
            subscription, signer=self._signer, message_id=message_id, now=now
        )

    def _forget_old_renders(self) -> None:
        if len(self._messages) > _RENDERS_KEPT:
            self._messages.clear()
            self._bodies.clear()
            self._emails.clear()


class _Pump:
    """One run of the worker: claims what is due while sends are in flight, up to the
    worker's concurrency, and writes results as they come in; ends when nothing is in flight
    and nothing more is due."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.running: set[asyncio.Task[Job]] = set()
        self.finished: list[Job] = []
        self.arrived = asyncio.Event()
        self.handled = 0
        self.more = True  # worth claiming: the last claim got all it asked for, or news came
        self.claimed_at = time.monotonic()
        self.flushed_at = time.monotonic()
        # Claims are worth their round trip when a quarter of the slots is free (or all are).
        self.claim_at = max(1, worker.concurrency // 4)

    async def run(self) -> int:
        try:
            while True:
                self.arrived.clear()  # first: a send that ends from here on is noticed
                if self.worker._wake.is_set():
                    self.worker._wake.clear()
                    self.more = True
                if self._should_claim():
                    await self._claim_or_wait()
                if self.finished and self._should_flush():
                    await self._flush()
                    continue
                if not self.running:
                    return self.handled
                wait = _FLUSH_AFTER if self.finished else _RECLAIM_SECONDS
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):  # no task per wait, unlike wait_for
                        await self.arrived.wait()
        finally:
            for task in self.running:
                task.cancel()
            await asyncio.gather(*self.running, return_exceptions=True)

    def _should_claim(self) -> bool:
        room = self.worker.concurrency - len(self.running)
        if room <= 0:
            return False
        stale = time.monotonic() - self.claimed_at > _RECLAIM_SECONDS
        return (self.more or stale) and (room >= self.claim_at or not self.running or stale)

    async def _claim_or_wait(self) -> None:
        """Claims more; if the database fails to answer, the sends in flight go on and are
        recorded, and claiming is tried again after a poll interval."""
        try:
            await self._claim()
        except Exception:
            if not self.running and not self.finished:
                raise
            log.exception("delivery worker %s: claim failed; trying again", self.worker.name)
            self.claimed_at = time.monotonic()
            self.more = False

    async def _claim(self) -> None:
        worker = self.worker
        room = worker.concurrency - len(self.running)
        worker._forget_old_renders()
        jobs = await worker._load(await worker._claim(worker.clock(), room))
        self.claimed_at = time.monotonic()
        self.more = len(jobs) == room
        for job in jobs:
            task = asyncio.create_task(worker._send(job))
            self.running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Job]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is None:
            self.finished.append(task.result())
            self.arrived.set()

    def _should_flush(self) -> bool:
        return (
            len(self.finished) >= _FLUSH_EVERY
            or not self.running
            or time.monotonic() - self.flushed_at >= _FLUSH_AFTER
        )

    async def _flush(self) -> None:
        jobs, self.finished = self.finished, []
        await self.worker._record(jobs)
        self.handled += len(jobs)
        self.flushed_at = time.monotonic()
        self.more = True  # a subscription's next message may be due now that this one is done
