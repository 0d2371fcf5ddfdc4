"""Replays of a signed source's calls. Standard Webhooks makes `webhook-id` the idempotency
key (the same for every retry of one message) and signs it with the timestamp and the body:
a call whose id was accepted before is given the first call's answer and acts on nothing
again, as a sender retrying after a lost answer expects (a 4xx would read as a failure and
be retried). The database's primary key decides who was first, so concurrent deliveries of
one id act once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.detection.models import WebhookId

# The signature check takes timestamps within 5 minutes either way of now, and a replay
# carries the signed timestamp of the call it copies: an id accepted at t cannot pass that
# check after t + 10 minutes, so it is kept that long (the scheduler's sweep forgets it).
KEPT_FOR = timedelta(minutes=10)


def _digest(webhook_id: str) -> str:
    return hashlib.sha256(webhook_id.encode()).hexdigest()


async def claim(
    session: AsyncSession, *, source_id: int, webhook_id: str, now: datetime
) -> dict[str, Any] | None:
    """None where this id is new (claimed now, in the caller's transaction: a rollback lets
    it be delivered again); else the answer its first call was given. A concurrent claim of
    the same id waits here for the first to commit or roll back."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    digest = _digest(webhook_id)
    claimed = await session.execute(
        dialect.insert(WebhookId)
        .values(source_id=source_id, digest=digest, received_at=now, answer={})
        .on_conflict_do_nothing(index_elements=[WebhookId.source_id, WebhookId.digest])
        .returning(WebhookId.digest)
    )
    if claimed.first() is not None:
        return None
    earlier = await session.scalar(
        select(WebhookId.answer).where(WebhookId.source_id == source_id, WebhookId.digest == digest)
    )
    return earlier or {}


async def keep_answer(
    session: AsyncSession, *, source_id: int, webhook_id: str, answer: dict[str, Any]
) -> None:
    """What the first call of this id was answered, for its replays."""
    await session.execute(
        update(WebhookId)
        .where(WebhookId.source_id == source_id, WebhookId.digest == _digest(webhook_id))
        .values(answer=answer)
    )


async def forget_before(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(WebhookId).where(WebhookId.received_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
