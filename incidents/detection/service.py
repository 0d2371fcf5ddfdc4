"""Every query and write of detection: alert rows claimed by fingerprint, rules, and the open
incident an alert joins. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.detection.models import Alert, AlertRule, AlertState
from incidents.models import Component, Incident, IncidentStatus


async def claim_alerts(
    session: AsyncSession, *, source_id: int, fingerprints: Sequence[str]
) -> dict[str, Alert]:
    """The alert rows of these fingerprints, created where new and locked in fingerprint
    order: concurrent deliveries of the same alert wait for each other here."""
    ordered = sorted(set(fingerprints))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Alert).on_conflict_do_nothing(
        index_elements=[Alert.source_id, Alert.fingerprint]
    )
    rows = [
        {
            "source_id": source_id,
            "fingerprint": fingerprint,
            "state": AlertState.firing,
            "labels": {},
            "annotations": {},
            "decision": "received",
        }
        for fingerprint in ordered
    ]
    await session.execute(statement, rows)
    found = await session.scalars(
        select(Alert)
        .where(Alert.source_id == source_id, Alert.fingerprint.in_(ordered))
        .order_by(Alert.fingerprint)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {alert.fingerprint: alert for alert in found}


async def event_component(
    session: AsyncSession, *, source_id: int, named: int | str
) -> tuple[int, str] | None:
    """The component an event names (by id or exact name), if a rule that takes this
    source's alerts sets it: a sender names no other, hidden or not, existing or not."""
    found = (
        await session.execute(
            select(Component.id, Component.name)
            .join(AlertRule, AlertRule.component_id == Component.id)
            .where(
                Component.id == named if isinstance(named, int) else Component.name == named,
                or_(AlertRule.source_id.is_(None), AlertRule.source_id == source_id),
            )
            .order_by(Component.id)
            .limit(1)
        )
    ).first()
    return (found.id, found.name) if found is not None else None


async def lock_components(session: AsyncSession, *, ids: Sequence[int]) -> None:
    """Deliveries of different alerts for one component open one incident: the component's
    row is the lock (taken in id order, after the alerts', so two deliveries never deadlock).
    SQLite has no row locks: its write lock, taken when the transaction began, is the lock."""
    if ids and session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Component.id)
            .where(Component.id.in_(sorted(set(ids))))
            .order_by(Component.id)
            .with_for_update()
        )


async def list_rules(session: AsyncSession) -> list[AlertRule]:
    return list(await session.scalars(select(AlertRule).order_by(AlertRule.position, AlertRule.id)))


async def open_incident_for(session: AsyncSession, *, component_id: int) -> int | None:
    """The unresolved incident detection opened for this component, if any."""
    found = await session.scalar(
        select(Incident.id)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(Alert.component_id == component_id, Incident.status != IncidentStatus.resolved)
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return found


async def opened_since(session: AsyncSession, *, source_id: int, since: datetime) -> int:
    """How many incidents this source's alerts opened (as the system) since `since`."""
    count = await session.scalar(
        select(func.count(func.distinct(Incident.id)))
        .join(Alert, Alert.incident_id == Incident.id)
        .where(
            Alert.source_id == source_id,
            Incident.created_by.is_(None),
            Incident.created_at >= since,
        )
    )
    return count or 0


async def others_firing(session: AsyncSession, *, incident_id: int, alert_id: int) -> int:
    """How many other alerts of this incident still fire."""
    count = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.incident_id == incident_id,
            Alert.id != alert_id,
            Alert.state == AlertState.firing,
        )
    )
    return count or 0


async def opened_by_detection(session: AsyncSession, *, incident_ids: Sequence[int]) -> set[int]:
    """Of these incidents, those an alert opened or joined."""
    if not incident_ids:
        return set()
    found = await session.scalars(
        select(Alert.incident_id).where(Alert.incident_id.in_(incident_ids)).distinct()
    )
    return {incident_id for incident_id in found if incident_id is not None}


async def list_alerts(session: AsyncSession, *, limit: int = 200) -> list[Alert]:
    return list(
        await session.scalars(
            select(Alert).order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(limit)
        )
    )


async def delete_alerts_before(session: AsyncSession, *, before: datetime) -> int:
    """Retention: alerts last heard of before `before` are deleted, but those of an incident
    not yet closed stay while it is open (later alerts of the component join it by them)."""
    result = await session.execute(
        delete(Alert).where(
            Alert.updated_at < before,
            Alert.hold_until.is_(None),
            or_(Alert.incident_id.is_(None), Alert.incident_id.in_(_closed_incidents())),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _closed_incidents() -> Select[int]:
    return select(Incident.id).where(
        Incident.status.in_([IncidentStatus.resolved, IncidentStatus.postmortem])
    )
