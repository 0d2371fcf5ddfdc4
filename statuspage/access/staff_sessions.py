"""Console sessions kept on the server, so that signing out ends one for good.

The cookie carries a random key (inside a signed token, `console.kit`); the table keeps only
its SHA-256 digest, so neither a copy of the database nor its signing key gives anyone a
session. A session is live until it expires or is ended: by signing out, or, for all of a
staff member's sessions at once, by a new password, deactivation, or the platform role
(`staff_accounts`). Deleting a staff member deletes their sessions with them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from incidents.common.db_types import Base
from incidents.common.staff import Staff


class StaffSession(Base):
    """One signed-in browser: whose, from when, until when, and when it was ended."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


def new_key() -> str:
    return secrets.token_urlsafe(32)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def start(
    session: AsyncSession, *, staff_id: int, key: str, created_at: datetime, lasts: timedelta
) -> None:
    """Records a new session under `key`'s digest; the staff member's dead ones go."""
    await session.execute(
        delete(StaffSession).where(
            StaffSession.staff_id == staff_id, StaffSession.expires_at <= created_at
        )
    )
    session.add(
        StaffSession(
            digest=_digest(key),
            staff_id=staff_id,
            created_at=created_at,
            expires_at=created_at + lasts,
        )
    )


async def staff_of(
    session: AsyncSession, *, key: str, staff_id: int, now: datetime
) -> Staff | None:
    """The staff member whose live session `key` is, if it is `staff_id`'s."""
    query = (
        select(Staff)
        .join(StaffSession, StaffSession.staff_id == Staff.id)
        .where(
            StaffSession.digest == _digest(key),
            Staff.id == staff_id,
            StaffSession.ended_at.is_(None),
            StaffSession.expires_at > now,
        )
    )
    return await session.scalar(query)


async def end(session: AsyncSession, *, key: str, now: datetime) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.digest == _digest(key), StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def end_all(session: AsyncSession, *, staff_id: int, now: datetime, keep: str = "") -> None:
    """Ends every live session of the staff member, but the one of key `keep` if given."""
    query = update(StaffSession).where(
        StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(StaffSession.digest != _digest(keep))
    await session.execute(query.values(ended_at=now))
