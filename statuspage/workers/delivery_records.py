"""Recording what the delivery worker's attempts came to: one attempt row each, the delivery's
new state (sent, retried later, failed), and the subscription's failure count or disabling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.broadcasting.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from incidents.broadcasting.rules import DISABLE_AFTER, Verdict, next_attempt
from incidents.common import audit
from statuspage.channels.senders import Result


@dataclass
class Job:
    delivery: Delivery
    result: Result | None = None  # None: not sent, the subscription was off


async def record(session: AsyncSession, jobs: list[Job], *, now: datetime, worker: str) -> None:
    """Writes the outcome of each job, in the caller's transaction."""
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
                "worker": worker,
            }
        )
        if outcome == AttemptOutcome.sent:
            succeeded.add(delivery.subscription_id)
        elif outcome == AttemptOutcome.gone:
            gone.append(delivery.subscription_id)
        elif change["state"] == DeliveryState.failed:
            failed.append(delivery.subscription_id)
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


def _after(
    delivery: Delivery, result: Result, now: datetime
) -> tuple[dict[str, Any], AttemptOutcome]:
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


async def _count_failure(session: AsyncSession, subscription_id: int, now: datetime) -> None:
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


async def _disable(session: AsyncSession, subscription_id: int, now: datetime, reason: str) -> None:
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
