"""Sliding-window limits on attempts, kept in the database so that every instance behind the
load balancer counts the same attempts (in each process's memory, N instances allowed N times
as many). Used for console sign-ins and for the public subscribe form.

An attempt is reserved before it is made: `reserve` writes it and counts the window in one
transaction, holding a lock per key, so concurrent requests cannot all read the window's last
free place (60 guesses at once once all reached the password check). What turns out not to
count (a sign-in that succeeds) is refunded afterwards.

Keys are kept as SHA-256 digests: the table says how often someone tried, not who (no email
addresses or client addresses at rest). Old rows are deleted as new ones are written.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select, text
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

    async def clear(self, session: AsyncSession, key: str) -> None:
        """Forgets every attempt counted for `key` (a success resets its own count)."""
        await session.execute(
            delete(RateEvent).where(
                RateEvent.bucket == self.bucket, RateEvent.key_digest == _digest(key)
            )
        )


@dataclass(frozen=True)
class Reserved:
    """The attempts one request counted, by row: refunded when it turns out not to count."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class Full:
    """A window with no room: the attempt was not made; `wait` seconds until it has room."""

    window: Window
    wait: float


async def reserve(
    session: AsyncSession, attempts: Sequence[tuple[Window, str]], *, now: datetime
) -> Reserved | Full:
    """Counts one attempt in each (window, key), or in none when any of them is full.

    Run it in a transaction of its own and commit at once: the locks are held until then.
    On PostgreSQL each key takes a transaction-scoped advisory lock (in one order, so two
    requests never wait on each other crosswise); on SQLite the first insert takes the
    database's write lock. Either way the count below sees every attempt reserved before.
    """
    keys = [(window, _digest(key)) for window, key in attempts]
    await _lock(session, sorted({_lock_id(window.bucket, digest) for window, digest in keys}))
    rows = [RateEvent(bucket=window.bucket, key_digest=digest, at=now) for window, digest in keys]
    session.add_all(rows)
    await session.flush()
    ids = tuple(row.id for row in rows)
    for window, digest in keys:
        wait = await _wait(session, window, digest, now=now)
        if wait:
            await refund(session, Reserved(ids))
            return Full(window, wait)
    if random.randrange(_PRUNE_ONE_IN) == 0:  # noqa: S311 - not a secret
        await _prune(session, [window for window, _ in keys], now=now)
    return Reserved(ids)


async def refund(session: AsyncSession, reserved: Reserved) -> None:
    """Takes back the attempts `reserve` counted."""
    if reserved.ids:
        await session.execute(delete(RateEvent).where(RateEvent.id.in_(reserved.ids)))


async def _wait(session: AsyncSession, window: Window, digest: str, *, now: datetime) -> float:
    """Seconds until the window has room again, counting the attempt just written (0: it
    fits)."""
    since = now - timedelta(seconds=window.seconds)
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(RateEvent.at)).where(
                RateEvent.bucket == window.bucket,
                RateEvent.key_digest == digest,
                RateEvent.at > since,
            )
        )
    ).one()
    if count <= window.limit or oldest is None:
        return 0.0
    return max(1.0, window.seconds - (now - oldest).total_seconds())


def _lock_id(bucket: str, digest: str) -> int:
    """A signed 64-bit number for PostgreSQL's advisory locks, from the bucket and key."""
    raw = hashlib.sha256(f"rate {bucket} {digest}".encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


async def _lock(session: AsyncSession, lock_ids: list[int]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: writers are serialized by the database's one write lock
    for lock_id in lock_ids:
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


async def _prune(session: AsyncSession, windows: list[Window], *, now: datetime) -> None:
    for window in windows:
        cutoff = now - timedelta(seconds=window.seconds)
        await session.execute(
            delete(RateEvent).where(RateEvent.bucket == window.bucket, RateEvent.at < cutoff)
        )
