"""Held announcements: an "announce at once" rule with a debounce opens a draft, published
when the alert has fired that long and still fires; one that recovers first was a flap and
is resolved unseen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import flows, service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, InvalidInput, NotFound
from incidents.detection.models import Alert, AlertPolicy, AlertRule, AlertSource, AlertState
from incidents.models import IncidentStatus


async def release(session: AsyncSession, row: Alert, *, actor: Actor) -> bool:
    """Publishes the held draft of `row` if the incident still has a firing alert; whether
    it did. The hold is over either way."""
    row.hold_until = None
    if row.incident_id is None:
        return False
    incident = await service.get_incident(session, incident_id=row.incident_id)
    if not incident.draft or incident.status == IncidentStatus.resolved:
        return False
    if not await _firing(session, incident_id=incident.id):
        return False
    await flows.publish_incident(session, incident_id=incident.id, actor=actor)
    await audit.record(
        session,
        actor_id=None,
        action="detection.announced",
        entity_type="incident",
        entity_id=incident.id,
        after={"fingerprint": row.fingerprint, "held_until": actor.now.isoformat()},
    )
    return True


async def release_due(session: AsyncSession, *, actor: Actor) -> list[str]:
    """The scheduler's step: every hold that has run out is released, but those of a paused
    source (pausing is the stop for everything its alerts would do)."""
    due = await session.execute(
        select(Alert, AlertRule.policy)
        .join(AlertSource, AlertSource.id == Alert.source_id)
        .outerjoin(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.hold_until <= actor.now, AlertSource.paused.is_(False))
        .order_by(Alert.id)
        .with_for_update(skip_locked=True, of=Alert)
    )
    done = []
    for row, policy in due.all():
        drafted = policy == AlertPolicy.draft
        if await release(session, row, actor=actor):
            why = "nobody acknowledged its draft" if drafted else "its alert's debounce"
            done.append(f"incident {row.incident_id} announced after {why}")
    return done


async def acknowledge(session: AsyncSession, *, alert_id: int, actor: Actor) -> Alert:
    """A person has seen the alert's draft: it is not published on its own any more (the
    holds of every alert of its incident end)."""
    row = await session.get(Alert, alert_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("alert %(alert_id)s does not exist"), field="alert_id", alert_id=alert_id)
    if row.incident_id is None:
        raise InvalidInput(
            N_("alert %(alert_id)s opened no incident"), field="alert_id", alert_id=alert_id
        )
    await session.execute(
        update(Alert).where(Alert.incident_id == row.incident_id).values(hold_until=None)
    )
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="detection.acknowledged",
        entity_type="incident",
        entity_id=row.incident_id,
        after={"alert_id": alert_id, "fingerprint": row.fingerprint},
    )
    await session.refresh(row)
    return row


async def next_due(session: AsyncSession) -> datetime | None:
    moment: datetime | None = await session.scalar(select(func.min(Alert.hold_until)))
    return moment


async def _firing(session: AsyncSession, *, incident_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.incident_id == incident_id, Alert.state == AlertState.firing)
    )
    return count or 0
