"""The delivery worker: claims due outbox rows, sends them, records every attempt.

Any number of workers (threads of one app, several instances, `statuspage worker`) share the
outbox. A claim is one UPDATE … RETURNING that leases the rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so workers never wait on each other); a worker that dies leaves its lease to expire
and the rows go out again with the same message id, which receivers use to drop a repeat.
Each subscription gets its messages in order: only its oldest pending delivery is ever due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from incidents import audit
from incidents.broadcast_models import (
    AttemptOutcome,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from incidents.broadcast_rules import DISABLE_AFTER, Verdict, next_attempt
from incidents.db_types import utcnow
from statuspage import emails, outgoing
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.messages import Message, compose
from statuspage.public_state import Site
from statuspage.senders import Result, send_email, send_http
from statuspage.signing import Signer, load_signer

log = logging.getLogger(__name__)

DIRECT_KINDS = {"subscription.confirm", "subscription.test"}  # sent before confirmation too
_FLUSH_EVERY = 64
_POOL_SIZE = 8  # connections per HTTP client
_FLUSH_AFTER = 0.05  # seconds: results are written at least this often while a batch sends


@dataclass
class _Job:
    delivery: Delivery
    result: Result | None = None  # None: not sent, the subscription was off


class DeliveryWorker:
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
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.clock = clock
        self.batch_size = settings.delivery_concurrency * 4
        self._client = client  # given: used for everything, and closed by whoever gave it
        self._clients: list[httpx.AsyncClient] = []
        self._signer: Signer | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._messages: dict[tuple[int, str], Message] = {}
        self._bodies: dict[tuple[int, str], bytes] = {}

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"delivery worker {self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in self._clients:
            await client.aclose()
        self._clients = []

    def wake(self) -> None:
        """Something was written: look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()  # before looking: a wake-up that comes during the look is kept
            try:
                sent = await self.run_once()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("delivery worker %s: batch failed; retrying", self.name)
                sent = 0
                await asyncio.sleep(1)
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)

    async def run_once(self) -> int:
        """Claims one batch of due deliveries, sends them and records the results."""
        ids = await self._claim(self.clock())
        if not ids:
            return 0
        jobs = await self._load(ids)
        await self._send_all(jobs)
        self._forget_old_renders()
        return len(jobs)

    async def drain(self, *, limit: int = 1000) -> int:
        """Runs batches until nothing is due (for tests and the CLI's one-shot mode)."""
        total = 0
        for _ in range(limit):
            sent = await self.run_once()
            if sent == 0:
                break
            total += sent
        return total

    # -- claiming --------------------------------------------------------------------------

    async def _claim(self, now: datetime) -> list[int]:
        earlier = aliased(Delivery)
        blocked = exists().where(
            and_(
                earlier.subscription_id == Delivery.subscription_id,
                earlier.state == DeliveryState.pending,
                earlier.id < Delivery.id,
            )
        )
        due = (
            select(Delivery.id)
            .where(
                Delivery.state == DeliveryState.pending,
                Delivery.next_attempt_at <= now,
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                ~blocked,
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        # Long enough for the whole batch to go out, each wave of it taking up to a timeout.
        waves = -(-self.batch_size // self.settings.delivery_concurrency)
        lease = timedelta(seconds=self.settings.delivery_timeout_seconds * waves + 2)
        claim = (
            update(Delivery)
            .where(Delivery.id.in_(due.scalar_subquery()))
            .values(lease_owner=self.name, lease_until=now + lease)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        async with self.database.sessionmaker() as session, session.begin():
            if self._signer is None:
                self._signer = await load_signer(session, self.settings)
            return list((await session.scalars(claim)).all())

    async def _load(self, ids: list[int]) -> list[_Job]:
        query = (
            select(Delivery)
            .where(Delivery.id.in_(ids))
            .options(joinedload(Delivery.event), joinedload(Delivery.subscription))
            .order_by(Delivery.id)
        )
        async with self.database.reading() as session:
            return [_Job(delivery) for delivery in (await session.scalars(query)).unique()]

    # -- sending ---------------------------------------------------------------------------

    async def _send_all(self, jobs: list[_Job]) -> None:
        gate = asyncio.Semaphore(self.settings.delivery_concurrency)

        async def one(job: _Job) -> _Job:
            async with gate:
                job.result = await self._deliver(job.delivery)
                return job

        tasks = [asyncio.create_task(one(job)) for job in jobs]
        done: list[_Job] = []
        flushed = time.monotonic()
        try:
            for finished in asyncio.as_completed(tasks):
                done.append(await finished)
                if len(done) >= _FLUSH_EVERY or time.monotonic() - flushed > _FLUSH_AFTER:
                    await self._record(done)
                    done, flushed = [], time.monotonic()
        finally:
            for task in tasks:
                task.cancel()
        if done:
            await self._record(done)

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
            return await send_email(email, settings=self.settings, timeout=timeout)
        message = self._message(delivery)
        if channel == Channel.webhook:
            request = outgoing.signed_webhook(
                subscription, message_id=message_id, body=self._webhook_body(delivery), now=now
            )
        else:
            request = outgoing.chat(
                subscription,
                message,
                site=self.site,
                telegram_api=self.settings.telegram_api_url,
                now=now,
            )
        return await send_http(self._http(request.url), request, channel=channel, timeout=timeout)

    def _http(self, url: str) -> httpx.AsyncClient:
        """A pooled client for this URL: one of a few small pools rather than one big one,
        because httpcore's pool does work in proportion to its size on every request (64
        connections in one pool sent a fan-out at half the speed of 8 pools of 8)."""
        if self._client is not None:
            return self._client
        if not self._clients:
            concurrency = self.settings.delivery_concurrency
            count = -(-concurrency // _POOL_SIZE)
            each = -(-concurrency // count)
            self._clients = [
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=each, max_keepalive_connections=each),
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
            self._bodies[key] = outgoing.webhook_body(
                kind=event.kind,
                created_at=event.created_at,
                payload=event.payload,
                message=self._message(delivery),
                site=self.site,
            )
        return self._bodies[key]

    def _email(self, delivery: Delivery, message_id: str, now: datetime) -> EmailMessage:
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
        return emails.broadcast_email(
            message=self._message(delivery),
            subscription=subscription,
            signer=self._signer,
            site=self.site,
            settings=self.settings,
            message_id=message_id,
            now=now,
        )

    def _forget_old_renders(self) -> None:
        if len(self._messages) > 1000:
            self._messages.clear()
            self._bodies.clear()

    # -- recording -------------------------------------------------------------------------

    async def _record(self, jobs: list[_Job]) -> None:
        now = self.clock()
        attempts = []
        changes = []
        succeeded: set[int] = set()
        failed: list[int] = []
        gone: list[int] = []
        for job in jobs:
            delivery, result = job.delivery, job.result
            if result is None:
                changes.append({"id": delivery.id, "state": DeliveryState.cancelled, **_unleased()})
                continue
            change, outcome = _after(delivery, result, now)
            changes.append(change)
            attempts.append(
                {
                    "delivery_id": delivery.id,
                    "attempted_at": now,
                    "outcome": outcome,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "error": result.error,
                    "worker": self.name,
                }
            )
            if outcome == AttemptOutcome.sent:
                succeeded.add(delivery.subscription_id)
            elif outcome == AttemptOutcome.gone:
                gone.append(delivery.subscription_id)
            elif change["state"] == DeliveryState.failed:
                failed.append(delivery.subscription_id)
        async with self.database.sessionmaker() as session, session.begin():
            if attempts:
                await session.execute(insert(DeliveryAttempt), attempts)
            await session.execute(update(Delivery), changes)
            if succeeded:
                await session.execute(
                    update(Subscription)
                    .where(Subscription.id.in_(succeeded), Subscription.consecutive_failures > 0)
                    .values(consecutive_failures=0)
                )
            for subscription_id in failed:
                await _count_failure(session, subscription_id, now)
            for subscription_id in gone:
                await _disable(session, subscription_id, now, "the receiver answered 410 Gone")


def _unleased() -> dict[str, object]:
    return {"lease_owner": None, "lease_until": None}


def _after(delivery: Delivery, result: Result, now: datetime) -> tuple[dict, AttemptOutcome]:  # type: ignore[type-arg]
    tried = delivery.attempts + 1
    base = {"id": delivery.id, "attempts": tried, **_unleased()}
    if result.verdict == Verdict.sent:
        return {**base, "state": DeliveryState.sent, "sent_at": now, "last_error": None}, (
            AttemptOutcome.sent
        )
    if result.verdict == Verdict.gone:
        return {**base, "state": DeliveryState.failed, "last_error": result.error}, (
            AttemptOutcome.gone
        )
    if result.verdict == Verdict.retry:
        when = next_attempt(
            attempts=tried,
            first_queued_at=delivery.created_at,
            now=now,
            retry_after=result.retry_after,
        )
        if when is not None:
            return {
                **base,
                "state": DeliveryState.pending,
                "next_attempt_at": when,
                "last_error": result.error,
            }, AttemptOutcome.retry
    return {**base, "state": DeliveryState.failed, "last_error": result.error}, (
        AttemptOutcome.failed
    )


async def _count_failure(session, subscription_id: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    count = await session.scalar(
        update(Subscription)
        .where(Subscription.id == subscription_id)
        .values(consecutive_failures=Subscription.consecutive_failures + 1)
        .returning(Subscription.consecutive_failures)
    )
    if count is not None and count >= DISABLE_AFTER:
        await _disable(
            session, subscription_id, now, f"{count} deliveries in a row failed for good"
        )


async def _disable(session, subscription_id: int, now: datetime, reason: str) -> None:  # type: ignore[no-untyped-def]
    disabled = await session.scalar(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason)
        .returning(Subscription.id)
    )
    if disabled is None:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.subscription_id == subscription_id, Delivery.state == DeliveryState.pending)
        .values(state=DeliveryState.cancelled, lease_owner=None, lease_until=None)
    )
    await audit.record(
        session,
        actor_id=None,
        action="subscription.disable",
        entity_type="subscription",
        entity_id=subscription_id,
        after={"disabled_reason": reason},
    )
