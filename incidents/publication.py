"""The public version: one row bumped in the same transaction as any change the public sees.

App instances compare it with the version their cached pages were rendered at, so a change made
through any instance (or the CLI, or the scheduler) reaches every cache within a poll.
"""

from __future__ import annotations

from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from incidents.common.db_types import Base, utcnow
from incidents.models import (
    Component,
    ComponentChange,
    ComponentGroup,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceSeries,
    MaintenanceUpdate,
)

PUBLIC_MODELS = (
    ComponentGroup,
    Component,
    Incident,
    IncidentUpdate,
    ComponentChange,
    Maintenance,
    MaintenanceUpdate,
    MaintenanceSeries,
)


class SiteState(Base):
    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


def track(sessions: type[Session]) -> None:
    """Bumps the version in every flush of these sessions that touches what the public sees
    (registered by the database wiring for every session the app makes). Idempotent."""
    if not event.contains(sessions, "after_flush", _bump_on_public_change):
        event.listen(sessions, "after_flush", _bump_on_public_change)


def _bump_on_public_change(session: Session, _context: Any) -> None:
    touched = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(row, PUBLIC_MODELS) for row in touched):
        session.connection().execute(
            update(SiteState)
            .where(SiteState.id == 1)
            .values(version=SiteState.version + 1, changed_at=utcnow())
        )


async def current(session: AsyncSession) -> tuple[int, datetime]:
    """The public version and when it last changed."""
    row = (await session.execute(select(SiteState.version, SiteState.changed_at))).first()
    if row is None:
        raise RuntimeError("site_state has no row: run `statuspage migrate`")
    return row[0], row[1]
