"""The suppression list: who unsubscribed, by a hash of the address, so that no import adds
them again. Only the hash is kept: the list names nobody, and still answers "was this one"."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.broadcasting.models import SuppressedAddress

# Addresses per query: far under PostgreSQL's (asyncpg's) 32,767 bound parameters.
LOOKUP_CHUNK = 5_000


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def chunks(items: Sequence[str], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def suppress(session: AsyncSession, *, address: str, now: datetime) -> None:
    hashed = address_hash(address)
    if await session.get(SuppressedAddress, hashed) is None:
        session.add(SuppressedAddress(address_hash=hashed, created_at=now))
        await session.flush()


async def lift(session: AsyncSession, *, address: str) -> None:
    await session.execute(
        delete(SuppressedAddress).where(SuppressedAddress.address_hash == address_hash(address))
    )


async def suppressed(session: AsyncSession, *, addresses: Iterable[str]) -> set[str]:
    """Those of `addresses` whose owner unsubscribed."""
    by_hash = {address_hash(address): address for address in addresses}
    found: set[str] = set()
    for part in chunks(list(by_hash)):
        rows = await session.scalars(
            select(SuppressedAddress.address_hash).where(SuppressedAddress.address_hash.in_(part))
        )
        found.update(by_hash[hashed] for hashed in rows.all())
    return found
