"""Heartbeats, as Uptime Kuma's push monitors: a source per component that expects a beat.
No beat within its first deadline fires its one alert as "degraded performance", within the
second as "major outage"; the next beat resolves it. The alert goes through the rules, the
storm guard and the policies like any other (a rule matching `alertname=HeartbeatMissing`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common.actor import Actor
from incidents.detection import flows, rules
from incidents.detection.inbound import Incoming
from incidents.detection.models import Alert, AlertSource, Heartbeat
from incidents.models import ComponentStatus

ALERTNAME = "HeartbeatMissing"
FINGERPRINT = "heartbeat"
_STATUS = {"degraded": ComponentStatus.degraded_performance, "down": ComponentStatus.major_outage}


def _alert(source: AlertSource, heartbeat: Heartbeat, *, stage: str) -> Incoming:
    silent_since = heartbeat.last_beat_at + timedelta(seconds=heartbeat.degraded_after_seconds)
    return Incoming(
        fingerprint=FINGERPRINT,
        status="resolved" if stage == "ok" else "firing",
        labels={"alertname": ALERTNAME, "heartbeat": source.name},
        annotations={"summary": f"no beat since {heartbeat.last_beat_at.isoformat()}"},
        starts_at=silent_since,
        component_id=heartbeat.component_id,
        component_status=_STATUS.get(stage),
    )


async def beat(session: AsyncSession, *, source: AlertSource, actor: Actor) -> list[Alert]:
    """A beat: the deadlines start again, and a silence that had fired recovers."""
    heartbeat = await session.get(Heartbeat, source.id, with_for_update=True)
    assert heartbeat is not None  # a heartbeat source is made with its heartbeat
    silent = heartbeat.stage != "ok"
    recovery = _alert(source, heartbeat, stage="ok")
    heartbeat.last_beat_at, heartbeat.stage = actor.now, "ok"
    if not silent:
        return []
    return await flows.receive(session, source=source, alerts=[recovery], actor=actor)


async def check_due(session: AsyncSession, *, actor: Actor) -> list[str]:
    """The scheduler's step: each live heartbeat whose silence passed a deadline fires
    (once per stage). A paused source's silence waits: it is judged when resumed."""
    found = await session.execute(
        select(Heartbeat, AlertSource)
        .join(AlertSource, AlertSource.id == Heartbeat.source_id)
        .where(AlertSource.paused.is_(False), AlertSource.revoked_at.is_(None))
        .order_by(Heartbeat.source_id)
        .with_for_update(skip_locked=True, of=Heartbeat)
    )
    done = []
    for heartbeat, source in found.all():
        stage = rules.heartbeat_stage(
            last_beat_at=heartbeat.last_beat_at,
            degraded_after=heartbeat.degraded_after_seconds,
            down_after=heartbeat.down_after_seconds,
            now=actor.now,
        )
        order = rules.HEARTBEAT_STAGES
        if order.index(stage) <= order.index(heartbeat.stage):
            continue
        heartbeat.stage = stage
        [alert] = await flows.receive(
            session, source=source, alerts=[_alert(source, heartbeat, stage=stage)], actor=actor
        )
        done.append(f"heartbeat {source.name}: no beat, {stage} ({alert.decision})")
    return done


async def next_due(session: AsyncSession) -> datetime | None:
    found = await session.scalars(
        select(Heartbeat)
        .join(AlertSource, AlertSource.id == Heartbeat.source_id)
        .where(AlertSource.paused.is_(False), AlertSource.revoked_at.is_(None))
    )
    moments = [
        rules.heartbeat_deadline(
            last_beat_at=heartbeat.last_beat_at,
            degraded_after=heartbeat.degraded_after_seconds,
            down_after=heartbeat.down_after_seconds,
            stage=heartbeat.stage,
        )
        for heartbeat in found
    ]
    return min((moment for moment in moments if moment is not None), default=None)
