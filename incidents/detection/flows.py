"""What an alert does: a firing alert matched by a rule opens (or joins) its component's
incident, a draft or published per the rule's policy; its resolution moves that incident to
monitoring, or resolves it where the rule says so. Automatic writes go through the incident
flows as the system (the actor without a staff id), so they are audited like a person's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import flows, service
from incidents.broadcasting import outbox
from incidents.broadcasting.models import Audience
from incidents.broadcasting.payloads import IncidentEvent
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.detection import holds, rules
from incidents.detection import service as detection
from incidents.detection.inbound import Incoming
from incidents.detection.models import Alert, AlertRule, AlertSource, AlertState, SourceKind
from incidents.models import (
    ComponentChange,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)
from incidents.schemas import IncidentOpen, IncidentText, ResolveIn, UpdateIn, UpdateText


async def receive(
    session: AsyncSession,
    *,
    source: AlertSource,
    alerts: Sequence[Incoming],
    actor: Actor,
    known_rules: Sequence[AlertRule] | None = None,
) -> list[Alert]:
    """Records every alert by fingerprint and acts on it; a re-sent notification changes
    nothing that the first one did. Every sender's alerts come here. `known_rules`: the rules
    as a caller writing many calls in one transaction read them once; else read here."""
    latest = {alert.fingerprint: alert for alert in alerts}
    rows = await detection.claim_alerts(session, source_id=source.id, fingerprints=list(latest))
    all_rules = (
        list(known_rules) if known_rules is not None else await detection.list_rules(session)
    )
    matched = {
        fingerprint: rules.rule_for(
            all_rules,
            source_id=source.id,
            labels=alert.labels,
            named_component=alert.component_id if source.kind == SourceKind.events else None,
        )
        for fingerprint, alert in latest.items()
    }
    await detection.lock_components(
        session,
        ids=[
            latest[fingerprint].component_id or rule.component_id
            for fingerprint, rule in matched.items()
            if rule is not None
        ],
    )
    for fingerprint in sorted(latest):
        row, sent, rule = rows[fingerprint], latest[fingerprint], matched[fingerprint]
        earlier = row.starts_at  # None: never seen before
        _record(row, sent, rule)
        if source.paused:
            row.decision = "paused"
        elif rule is None:
            row.decision = "unmatched"
        elif sent.status == "firing":
            target = _Target(row.component_id or rule.component_id, sent.component_status)
            row.decision = await _fire(
                session, row, rule, actor, target, storm_limit=source.storm_limit, earlier=earlier
            )
        else:
            row.decision = await _recover(session, row, rule, actor, earlier=earlier)
    await session.flush()
    return [rows[fingerprint] for fingerprint in sorted(latest)]


@dataclass(frozen=True)
class _Target:
    """The component a firing alert sets, and the status: the sender's, else the rule's."""

    component_id: int
    status: ComponentStatus | None


def _record(row: Alert, sent: Incoming, rule: AlertRule | None) -> None:
    row.state = AlertState(sent.status)
    row.labels = dict(sent.labels)
    row.annotations = dict(sent.annotations)
    row.starts_at = sent.starts_at
    row.ends_at = sent.ends_at
    if rule is not None:
        row.rule_id = rule.id
        row.component_id = sent.component_id or rule.component_id


async def _fire(
    session: AsyncSession,
    row: Alert,
    rule: AlertRule,
    actor: Actor,
    target: _Target,
    *,
    storm_limit: int,
    earlier: datetime | None,
) -> str:
    if row.incident_id is not None:
        current = await service.get_incident(session, incident_id=row.incident_id)
        closed = current.status in (IncidentStatus.resolved, IncidentStatus.postmortem)
        if (
            closed
            and earlier is not None
            and row.starts_at is not None
            and row.starts_at <= earlier
        ):
            # The alert staff closed, sent again with no newer start (Alertmanager's
            # repeat_interval, a late copy from a peer of its cluster): it stays closed.
            return "already_handled"
        if not closed:
            if row.hold_until is not None and row.hold_until <= actor.now:
                return "announced" if await holds.release(session, row, actor=actor) else "held"
            if await _escalate(session, current, rule, target, actor=actor):
                return "escalated"
            return "already_open"  # Alertmanager re-sends while the alert fires
    joined = await detection.open_incident_for(session, component_id=target.component_id)
    if joined is not None:
        row.incident_id = joined
        row.acted_at = actor.now
        return "joined"
    since = actor.now - rules.STORM_WINDOW
    opened = await detection.opened_since(session, source_id=row.source_id, since=since)
    if rules.in_storm(opened_recently=opened, limit=storm_limit):
        return "storm_guard"  # recorded; staff see it in the alerts list
    held = rules.hold_until(rule, starts_at=row.starts_at, now=actor.now)
    public = rules.publishes_at_once(rule.policy) and held is None
    incident = await flows.open_incident(
        session, data=_opening(rule, target, draft=not public), actor=actor
    )
    row.incident_id = incident.id
    row.acted_at = actor.now
    row.hold_until = held
    announcing = rules.publishes_at_once(rule.policy)
    decision = "announced" if public else "held" if announcing else "drafted"
    await audit.record(
        session,
        actor_id=None,
        action=f"detection.{decision}",
        entity_type="incident",
        entity_id=incident.id,
        after={"rule_id": rule.id, "fingerprint": row.fingerprint, "policy": rule.policy.value},
    )
    if decision == "drafted":  # the public heard nothing: the support channel does
        await _tell_staff(session, incident.id, row, reason="detected", actor=actor)
    return decision


async def _recover(
    session: AsyncSession, row: Alert, rule: AlertRule, actor: Actor, *, earlier: datetime | None
) -> str:
    if row.incident_id is None:
        return "recovered"
    if earlier is not None and row.starts_at is not None and row.starts_at < earlier:
        # The resolution of an earlier firing, arriving late: the newer one still stands.
        row.state, row.starts_at, row.ends_at = AlertState.firing, earlier, None
        return "stale"
    incident = await service.get_incident(session, incident_id=row.incident_id)
    if incident.status == IncidentStatus.resolved:
        return "recovered"
    if await detection.others_firing(session, incident_id=incident.id, alert_id=row.id):
        return "others_firing"
    if row.hold_until is not None:  # recovered within the debounce: a flap nobody saw
        row.hold_until = None
        resolve = ResolveIn(**_recovery_fields(rule, row), notify=False)
        await flows.resolve_incident(session, incident_id=incident.id, data=resolve, actor=actor)
        return "flapped"
    if rule.resolve_automatically:
        resolve = ResolveIn(**_recovery_fields(rule, row))
        await flows.resolve_incident(session, incident_id=incident.id, data=resolve, actor=actor)
        return "resolved_incident"
    if incident.status == IncidentStatus.monitoring:
        return "recovered"
    update = UpdateIn(status=IncidentStatus.monitoring, **_recovery_fields(rule, row))
    await flows.post_update(session, incident_id=incident.id, data=update, actor=actor)
    await _tell_staff(session, incident.id, row, reason="recovered", actor=actor)
    return "monitoring"


async def _tell_staff(
    session: AsyncSession,
    incident_id: int,
    row: Alert,
    *,
    reason: Literal["detected", "recovered"],
    actor: Actor,
) -> None:
    """The support channel hears what fired (a draft to publish) or what recovered (an
    incident to resolve): the suggestion, never the decision."""
    incident = await service.get_incident(session, incident_id=incident_id)
    latest = max(incident.updates, key=lambda update: update.id)
    payload = IncidentEvent(
        incident=outbox.incident_payload(incident),
        update=outbox.update_payload(latest),
        reason=reason,
        alertname=str(row.labels.get("alertname", row.fingerprint)),
    )
    await outbox.record(
        session,
        kind="staff.reminder",
        audience=Audience.staff,
        payload=payload,
        component_ids=[component.id for component in incident.components],
        now=actor.now,
        incident_id=incident.id,
        dedup_key=f"detection:{reason}:{incident.id}:{latest.id}",
    )


async def _escalate(
    session: AsyncSession, incident: Incident, rule: AlertRule, target: _Target, *, actor: Actor
) -> bool:
    """A sender that now names a worse status for the component (a heartbeat silent long
    enough to be down) moves it there on the open incident, unless staff set it last."""
    latest = _latest_change(incident, target.component_id)
    shown = latest[1].new_status if latest is not None else None
    set_by_staff = latest is not None and latest[0].author_id is not None
    if not rules.escalates(shown=shown, sent=target.status, set_by_staff=set_by_staff):
        return False
    assert target.status is not None
    update = UpdateIn(
        status=incident.status,
        body=rule.texts[rule.language]["body"],
        language=rule.language,
        components={target.component_id: target.status},
        notify=not incident.draft,
    )
    await flows.post_update(session, incident_id=incident.id, data=update, actor=actor)
    return True


def _latest_change(
    incident: Incident, component_id: int
) -> tuple[IncidentUpdate, ComponentChange] | None:
    """The component's last change on the incident and its update, in display order (as
    the page shows it)."""
    changes = [
        (update, change)
        for update in incident.updates
        for change in update.component_changes
        if change.component_id == component_id
    ]
    return max(changes, key=lambda pair: (pair[0].display_at, pair[0].id), default=None)


def _opening(rule: AlertRule, target: _Target, *, draft: bool) -> IncidentOpen:
    own = rule.texts[rule.language]
    return IncidentOpen(
        name=own["name"],
        body=own["body"],
        language=rule.language,
        status="investigating",
        components={target.component_id: target.status or rule.component_status},
        draft=draft,
        translations={
            language: IncidentText(name=text["name"], body=text["body"])
            for language, text in rule.texts.items()
            if language != rule.language
        },
    )


def _recovery_fields(rule: AlertRule, row: Alert) -> dict[str, object]:
    return {
        "body": rule.texts[rule.language]["recovery_body"],
        "language": rule.language,
        "components": {row.component_id or rule.component_id: ComponentStatus.operational},
        "translations": {
            language: UpdateText(body=text["recovery_body"])
            for language, text in rule.texts.items()
            if language != rule.language
        },
    }
