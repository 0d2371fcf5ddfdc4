"""Finding incidents and maintenance, past and present: by status, by the time they span and
by a word in their names or updates (either language), newest first, a page at a time."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents.models import (
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Found(Generic[T]):
    rows: list[T]
    more: bool  # another page follows


def _mentions(
    text: str, *columns: ColumnElement[str] | InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """Any of `columns` contains `text`, in any case. JSON columns are stored as JSON text,
    where a Chinese character is written `\\uXXXX`; that spelling is looked for as well."""
    spelled = json.dumps(text)[1:-1]
    forms = {text, spelled}
    return or_(*(column.icontains(form, autoescape=True) for column in columns for form in forms))


def _text(column: object) -> ColumnElement[str]:
    return cast(column, String)


async def find_incidents(
    session: AsyncSession,
    *,
    statuses: Collection[IncidentStatus] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    text: str = "",
    limit: int = 25,
    offset: int = 0,
) -> Found[Incident]:
    """Incidents open at some time in [since, until), drafts included."""
    query = select(Incident).options(selectinload(Incident.components))
    if statuses:
        query = query.where(Incident.status.in_(statuses))
    if until is not None:
        query = query.where(Incident.started_at < until)
    if since is not None:
        query = query.where(or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since))
    if text:
        in_updates = exists().where(
            IncidentUpdate.incident_id == Incident.id,
            _mentions(text, IncidentUpdate.body, _text(IncidentUpdate.translations)),
        )
        named = _mentions(text, Incident.name, Incident.shortlink, _text(Incident.translations))
        query = query.where(or_(named, in_updates))
    query = query.order_by(Incident.started_at.desc(), Incident.id.desc())
    rows = list((await session.scalars(query.offset(offset).limit(limit + 1))).all())
    return Found(rows[:limit], len(rows) > limit)


async def find_maintenances(
    session: AsyncSession,
    *,
    statuses: Collection[MaintenanceStatus] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    text: str = "",
    limit: int = 25,
    offset: int = 0,
) -> Found[Maintenance]:
    """Maintenance whose window meets [since, until), drafts included."""
    query = select(Maintenance).options(selectinload(Maintenance.components))
    if statuses:
        query = query.where(Maintenance.status.in_(statuses))
    if until is not None:
        query = query.where(Maintenance.scheduled_for < until)
    if since is not None:
        query = query.where(Maintenance.scheduled_until >= since)
    if text:
        in_updates = exists().where(
            MaintenanceUpdate.maintenance_id == Maintenance.id,
            _mentions(text, MaintenanceUpdate.body, _text(MaintenanceUpdate.translations)),
        )
        named = _mentions(
            text, Maintenance.name, Maintenance.shortlink, _text(Maintenance.translations)
        )
        query = query.where(or_(named, in_updates))
    query = query.order_by(Maintenance.scheduled_for.desc(), Maintenance.id.desc())
    rows = list((await session.scalars(query.offset(offset).limit(limit + 1))).all())
    return Found(rows[:limit], len(rows) > limit)
