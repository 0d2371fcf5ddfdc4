"""Sliding-window limits on attempts, kept in the database so that every instance behind the
load balancer counts the same attempts (in each process's memory, N instances allowed N times
as many). Used for failed console sign-ins and for the public subscribe form.

Keys are kept as SHA-256 digests: the table says how often someone tried, not who (no email
addresses or client addresses at rest). Old rows are deleted as new ones are written.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from incidents.common.db_types import Base

# How often a write also deletes the bucket's rows older than its window.
_PRUNE_ONE_IN = 50


class RateEvent(Base):
    """One counted attempt: its bucket (what is limited), the key's digest, and when."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_lookup", "bucket", "key_digest", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32))
    key_digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Window:
    """At most `limit` attempts per key in any `seconds`, in `bucket`."""

    bucket: str
    limit: int
    seconds: float

    async def wait(self, session: AsyncSession, key: str, *, now: datetime) -> float:
        """Seconds until the next attempt for `key` is allowed (0: now)."""
        since = now - timedelta(seconds=self.seconds)
        found = (
            await session.execute(
                select(func.count(), func.min(RateEvent.at)).where(
                    RateEvent.bucket == self.bucket,
                    RateEvent.key_digest == _digest(key),
                    RateEvent.at > since,
                )
            )
        ).one()
        count, oldest = found
        if count < self.limit or oldest is None:
            return 0.0
        return max(1.0, self.seconds - (now - oldest).total_seconds())

    async def add(self, session: AsyncSession, key: str, *, now: datetime) -> None:
        session.add(RateEvent(bucket=self.bucket, key_digest=_digest(key), at=now))
        if random.randrange(_PRUNE_ONE_IN) == 0:  # noqa: S311 - not a secret
            cutoff = now - timedelta(seconds=self.seconds)
            await session.execute(
                delete(RateEvent).where(RateEvent.bucket == self.bucket, RateEvent.at < cutoff)
            )

    async def clear(self, session: AsyncSession, key: str) -> None:
        await session.execute(
            delete(RateEvent).where(
                RateEvent.bucket == self.bucket, RateEvent.key_digest == _digest(key)
            )
        )
