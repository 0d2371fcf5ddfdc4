"""What the scheduler does when it wakes: publish due posts, schedule the coming occurrences of
recurring maintenance, start and complete maintenance, remind subscribers of maintenance,
broadcast progress on quiet incidents, remind staff.

Every step reads the database for what is due at `now` and records what it did under a key
that names it, so running late runs each thing once (missed runs coalesce) and running twice
does nothing more. Each step commits on its own: one failure does not hold up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import maintenance_flows, scheduled_posts, series_flows, service
from incidents.broadcasting import outbox
from incidents.broadcasting.models import Audience, BroadcastEvent
from incidents.broadcasting.payloads import IncidentEvent
from incidents.broadcasting.rules import (
    MAINTENANCE_LEADS,
    Notice,
    maintenance_reminders_due,
    progress_due,
    quiet_reminder_key,
)
from incidents.common.actor import Actor
from incidents.detection import heartbeats, holds, replays
from incidents.detection import service as detection
from incidents.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    SeriesStatus,
)
from incidents.rules import OPEN_INCIDENT_STATUSES
from incidents.schemas import BodyText, MaintenanceUpdateIn
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.i18n import t

log = logging.getLogger(__name__)

ANNOUNCED = ("maintenance.scheduled", "maintenance.rescheduled")


async def run_due(database: Database, settings: Settings, *, now: datetime) -> list[str]:
    """Does everything due at `now`; returns what it did, one line each."""
    done: list[str] = []
    steps: list[Callable[[AsyncSession], Awaitable[list[str]]]] = [
        lambda session: _publish_posts(session, settings, now),
        lambda session: series_flows.schedule_due(session, actor=_system(settings, now)),
        lambda session: _move_maintenance(session, settings, now),
        lambda session: _remind_maintenance(session, now),
        lambda session: _watch_incidents(session, settings, now),
        lambda session: holds.release_due(session, actor=_system(settings, now)),
        lambda session: heartbeats.check_due(session, actor=_system(settings, now)),
        lambda session: _forget_alerts(session, settings, now),
    ]
    for step in steps:
        async with database.sessionmaker() as session, session.begin():
            done += await step(session)
    for line in done:
        log.info("scheduler: %s", line)
    return done


async def _forget_alerts(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    before = now - timedelta(days=settings.alert_retention_days)
    deleted = await detection.delete_alerts_before(session, before=before)
    await replays.forget_before(session, before=now - replays.KEPT_FOR)  # no replay passes now
    return [f"{deleted} alerts older than {settings.alert_retention_days} days deleted"] * (
        deleted > 0
    )


def _system(settings: Settings, now: datetime) -> Actor:
    return Actor(staff_id=None, default_language=settings.default_language, now=now)


async def next_due(database: Database, settings: Settings, *, now: datetime) -> datetime | None:
    """The earliest moment something will be due, to wake up then (None: nothing planned)."""
    async with database.reading() as session:
        moments = [
            await scheduled_posts.next_run_at(session),
            await holds.next_due(session),
            await heartbeats.next_due(session),
        ]
        for maintenance in await _maintenances(session):
            moments += _maintenance_moments(maintenance)
        for series in await series_flows.list_series(
            session, statuses=[SeriesStatus.active], limit=10_000
        ):
            moments.append(series_flows.next_scheduling(series, now=now))
        for incident, notice, last_update in await _open_incidents(session):
            cadence = settings.cadence().get(incident.impact)
            moments.append(progress_due(notice, settings.cadence()) if notice else None)
            if cadence is not None and last_update is not None:
                moments.append(last_update.display_at + cadence)
            moments.append(_current_eta(incident))
    future = [moment for moment in moments if moment is not None and moment > now]
    return min(future) if future else None


# -- scheduled posts ----------------------------------------------------------------------


async def _publish_posts(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    done = []
    for post_id in await scheduled_posts.due_post_ids(session, now=now):
        published = await scheduled_posts.publish(
            session, post_id=post_id, now=now, default_language=settings.default_language
        )
        if published is not None:
            done.append(f"scheduled post {post_id} {published.state.value}")
    return done


# -- maintenance --------------------------------------------------------------------------


async def _maintenances(session: AsyncSession) -> list[Maintenance]:
    rows = await session.scalars(
        select(Maintenance)
        .where(
            Maintenance.draft.is_(False),
            Maintenance.status.in_(
                [
                    MaintenanceStatus.scheduled,
                    MaintenanceStatus.in_progress,
                    MaintenanceStatus.verifying,
                ]
            ),
        )
        .options(*service.maintenance_load_options())
        .order_by(Maintenance.scheduled_for, Maintenance.id)
    )
    return list(rows)


def _maintenance_moments(maintenance: Maintenance) -> list[datetime | None]:
    if maintenance.status == MaintenanceStatus.scheduled:
        moments = [maintenance.scheduled_for - lead for lead in MAINTENANCE_LEADS]
        return [*moments, maintenance.scheduled_for if maintenance.auto_start else None]
    return [maintenance.scheduled_until if maintenance.auto_complete else None]


async def _move_maintenance(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    done = []
    actor = Actor(staff_id=None, default_language=settings.default_language, now=now)
    for maintenance in await _maintenances(session):
        status = maintenance.status
        starts = maintenance.auto_start and maintenance.scheduled_for <= now
        if status == MaintenanceStatus.scheduled and starts:
            await _move(session, maintenance, MaintenanceStatus.in_progress, actor)
            done.append(f"maintenance {maintenance.id} started")
            status = MaintenanceStatus.in_progress
        ends = maintenance.auto_complete and maintenance.scheduled_until <= now
        if status != MaintenanceStatus.scheduled and ends:
            await _move(session, maintenance, MaintenanceStatus.completed, actor)
            done.append(f"maintenance {maintenance.id} completed")
    return done


async def _move(
    session: AsyncSession, maintenance: Maintenance, status: MaintenanceStatus, actor: Actor
) -> None:
    key = (
        "maintenance.auto_started"
        if status == MaintenanceStatus.in_progress
        else ("maintenance.auto_completed")
    )
    own = maintenance.language
    others = {lang: BodyText(body=t(lang, key)) for lang in ("en", "zh-CN") if lang != own}
    await maintenance_flows.post_maintenance_update(
        session,
        maintenance_id=maintenance.id,
        data=MaintenanceUpdateIn(
            status=status, body=t(own, key), language=own, translations=others
        ),
        actor=actor,
    )


async def _announced_at(session: AsyncSession, maintenance_id: int) -> datetime | None:
    return await session.scalar(
        select(func.max(BroadcastEvent.created_at)).where(
            BroadcastEvent.maintenance_id == maintenance_id, BroadcastEvent.kind.in_(ANNOUNCED)
        )
    )


async def _remind_maintenance(session: AsyncSession, now: datetime) -> list[str]:
    done = []
    for maintenance in await _maintenances(session):
        if maintenance.status != MaintenanceStatus.scheduled:
            continue
        announced = await _announced_at(session, maintenance.id)
        if announced is None:  # announced without notifying: nobody expects reminders
            continue
        for lead in maintenance_reminders_due(
            scheduled_for=maintenance.scheduled_for, announced_at=announced, now=now
        ):
            hours = int(lead / timedelta(hours=1))
            start = maintenance.scheduled_for.isoformat()
            key = f"maintenance-reminder:{maintenance.id}:{hours}h:{start}"
            if await outbox.seen(session, dedup_key=key):
                continue
            await outbox.announce_maintenance(
                session,
                maintenance=maintenance,
                kind="maintenance.reminder",
                now=now,
                notify=True,
                lead_hours=hours,
                dedup_key=key,
            )
            done.append(f"maintenance {maintenance.id} reminder {hours}h")
    return done


# -- open incidents -----------------------------------------------------------------------


async def _open_incidents(
    session: AsyncSession,
) -> list[tuple[Incident, Notice | None, IncidentUpdate | None]]:
    """Each open incident, when subscribers last heard of it (None: they never did), and
    its latest update."""
    incidents = list(
        await session.scalars(
            select(Incident)
            .where(Incident.status.in_(OPEN_INCIDENT_STATUSES), Incident.draft.is_(False))
            .options(*service.incident_load_options())
            .order_by(Incident.id)
        )
    )
    notices = await outbox.last_notices(session, incidents)
    return [
        (
            incident,
            notices.get(incident.id),
            max(incident.updates, key=lambda u: (u.display_at, u.id), default=None),
        )
        for incident in incidents
    ]


def _current_eta(incident: Incident) -> datetime | None:
    with_eta = [update for update in incident.updates if update.expected_resolution_at]
    if not with_eta:
        return None
    return max(with_eta, key=lambda u: (u.display_at, u.id)).expected_resolution_at


async def _watch_incidents(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    done = []
    cadence = settings.cadence()
    for incident, notice, latest in await _open_incidents(session):
        every = cadence.get(incident.impact)
        if notice is not None and every is not None:
            due = progress_due(notice, cadence)
            if due is not None and due <= now:
                done += await _progress(session, incident, due=due, every=every, now=now)
        if latest is not None and every is not None:
            done += await _quiet_reminder(session, incident, latest, every=every, now=now)
        done += await _eta_reminder(session, incident, latest, now=now)
    return done


def _last_told(incident: Incident) -> IncidentUpdate:
    return max(
        (update for update in incident.updates if update.notify),
        key=lambda u: (u.display_at, u.id),
    )


async def _progress(
    session: AsyncSession, incident: Incident, *, due: datetime, every: timedelta, now: datetime
) -> list[str]:
    key = f"progress:{incident.id}:{due.isoformat()}"
    if await outbox.seen(session, dedup_key=key):
        return []
    await outbox.record(
        session,
        kind="incident.progress",
        payload={
            "incident": outbox.incident_payload(incident),
            "last_update": outbox.update_payload(_last_told(incident)),
            "next_update_by": (now + every).isoformat(),
        },
        component_ids=[component.id for component in incident.components],
        now=now,
        incident_id=incident.id,
        dedup_key=key,
    )
    return [f"incident {incident.id} progress broadcast"]


async def _quiet_reminder(
    session: AsyncSession,
    incident: Incident,
    latest: IncidentUpdate,
    *,
    every: timedelta,
    now: datetime,
) -> list[str]:
    key = quiet_reminder_key(
        incident_id=incident.id, last_update_at=latest.display_at, every=every, now=now
    )
    if key is None or await outbox.seen(session, dedup_key=key):
        return []
    minutes = int((now - latest.display_at) / timedelta(minutes=1))
    await _staff(session, incident, latest, key, now, reason="quiet", quiet_minutes=minutes)
    return [f"incident {incident.id} quiet reminder"]


async def _eta_reminder(
    session: AsyncSession, incident: Incident, latest: IncidentUpdate | None, *, now: datetime
) -> list[str]:
    eta = _current_eta(incident)
    if eta is None or latest is None or eta > now or latest.display_at >= eta:
        return []
    key = f"eta:{incident.id}:{eta.isoformat()}"
    if await outbox.seen(session, dedup_key=key):
        return []
    await _staff(session, incident, latest, key, now, reason="eta_passed", eta=eta.isoformat())
    return [f"incident {incident.id} eta reminder"]


async def _staff(
    session: AsyncSession,
    incident: Incident,
    latest: IncidentUpdate,
    key: str,
    now: datetime,
    *,
    reason: Literal["quiet", "eta_passed"],
    quiet_minutes: int | None = None,
    eta: str | None = None,
) -> None:
    payload = IncidentEvent(
        incident=outbox.incident_payload(incident),
        update=outbox.update_payload(latest),
        reason=reason,
    )
    if quiet_minutes is not None:
        payload["quiet_minutes"] = quiet_minutes
    if eta is not None:
        payload["eta"] = eta
    await outbox.record(
        session,
        kind="staff.reminder",
        audience=Audience.staff,
        payload=payload,
        component_ids=[component.id for component in incident.components],
        now=now,
        incident_id=incident.id,
        dedup_key=key,
    )
