"""Tells the platform's credit API of every issued voucher: signed, idempotent, retried.

Each voucher's outbox row was written with the voucher. Rows are claimed with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL), posted as Standard Webhooks with an
`Idempotency-Key` that stays the same across retries, and recorded: a 2xx marks the voucher
delivered (and its batch, once none is left); a retryable failure backs off with jitter for up
to a day; any other answer fails the row for finance to look at.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from standardwebhooks import Webhook

from compensation import flows
from compensation.models import CreditDelivery, CreditState, Voucher
from incidents.broadcasting.models import Channel
from incidents.broadcasting.rules import Verdict, next_attempt
from incidents.common.db_types import utcnow
from statuspage.channels.formats import Outgoing
from statuspage.channels.senders import Result, send_http
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.claims import claim_due
from statuspage.workers.loop import WorkerLoop

EVENT_TYPE = "voucher.issued"


def voucher_body(voucher: Voucher) -> bytes:
    data = {
        "voucher_id": voucher.id,
        "code": voucher.code,
        "account_id": voucher.account_id,
        "asset": voucher.asset,
        "amount": format(voucher.amount, "f"),
        "expires_at": voucher.expires_at.isoformat(),
        "incident_id": voucher.incident_id,
        "batch_id": voucher.batch_id,
    }
    payload = {"type": EVENT_TYPE, "timestamp": voucher.issued_at.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_credit(settings: Settings, voucher: Voucher, now: datetime) -> Outgoing:
    body = voucher_body(voucher)
    message_id = f"voucher_{voucher.id}"  # the same on every retry, so receivers can dedupe
    return Outgoing(
        url=settings.credit_api_url,
        body=body,
        headers={
            "content-type": "application/json",
            "idempotency-key": voucher.code.replace("-", ""),
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(settings.credit_api_secret).sign(
                message_id, now, body.decode()
            ),
        },
    )


class CreditWorker(WorkerLoop):
    kind = "credit worker"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, poll_seconds=settings.worker_poll_seconds)
        self.database = database
        self.settings = settings
        self.clock = clock
        self.batch_size = settings.credit_concurrency * 4
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        await self.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        now = self.clock()
        claimed = await self._claim(now)
        if not claimed:
            return 0
        if self._client is None:
            limits = httpx.Limits(max_connections=self.settings.credit_concurrency)
            self._client = httpx.AsyncClient(limits=limits)
        client = self._client
        timeout = self.settings.delivery_timeout_seconds

        async def send(voucher: Voucher) -> Result:
            request = signed_credit(self.settings, voucher, self.clock())
            return await send_http(client, request, channel=Channel.webhook, timeout=timeout)

        results = await asyncio.gather(*(send(voucher) for _, voucher in claimed))
        await self._record(list(zip(claimed, results, strict=True)))
        return len(claimed)

    async def _claim(self, now: datetime) -> list[tuple[CreditDelivery, Voucher]]:
        waves = -(-self.batch_size // self.settings.credit_concurrency)
        lease = timedelta(seconds=self.settings.delivery_timeout_seconds * waves + 2)
        claim = claim_due(
            CreditDelivery,
            pending=CreditState.pending,
            now=now,
            lease=lease,
            owner=self.name,
            limit=self.batch_size,
            order_by=(CreditDelivery.id,),
        )
        async with self.database.sessionmaker() as session, session.begin():
            ids = list((await session.scalars(claim)).all())
            if not ids:
                return []
            rows = await session.execute(
                select(CreditDelivery, Voucher)
                .join(Voucher, Voucher.id == CreditDelivery.voucher_id)
                .where(CreditDelivery.id.in_(ids))
                .order_by(CreditDelivery.id)
            )
            return [(row[0], row[1]) for row in rows]

    async def _record(self, done: list[tuple[tuple[CreditDelivery, Voucher], Result]]) -> None:
        now = self.clock()
        changes = []
        delivered: list[int] = []
        for (credit, voucher), result in done:
            change = _after(credit, voucher, result, now)
            changes.append(change)
            if change["state"] == CreditState.sent:
                delivered.append(voucher.id)
        async with self.database.sessionmaker() as session, session.begin():
            await session.execute(update(CreditDelivery), changes)
            await flows.credited(session, voucher_ids=delivered, now=now)


def _after(credit: CreditDelivery, voucher: Voucher, result: Result, now: datetime) -> dict:  # type: ignore[type-arg]
    tried = credit.attempts + 1
    base = {
        "id": credit.id,
        "attempts": tried,
        "lease_owner": None,
        "lease_until": None,
        "last_status": result.status_code,
        "last_error": result.error,
    }
    if result.verdict == Verdict.sent:
        return {**base, "state": CreditState.sent, "sent_at": now}
    if result.verdict == Verdict.retry:
        when = next_attempt(
            attempts=tried,
            first_queued_at=voucher.issued_at,
            now=now,
            retry_after=result.retry_after,
        )
        if when is not None:
            return {**base, "state": CreditState.pending, "next_attempt_at": when}
    return {**base, "state": CreditState.failed}
