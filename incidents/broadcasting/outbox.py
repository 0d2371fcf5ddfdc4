"""The outbox: a publishable change records an event and one delivery per matching subscription,
in the transaction that makes the change, so the change and its broadcast commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.broadcasting.models import (
    Audience,
    BroadcastEvent,
    Delivery,
    DeliveryState,
    Subscription,
    subscription_components,
)
from incidents.broadcasting.payloads import (
    ComponentPayload,
    EventPayload,
    IncidentEvent,
    IncidentPayload,
    MaintenanceEvent,
    MaintenancePayload,
    MaintenanceUpdatePayload,
    NoPayload,
    UpdatePayload,
    Window,
    to_json,
)
from incidents.broadcasting.rules import Notice
from incidents.models import (
    Component,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)

# Components have no language of their own: their plain name is the site's default language.
DEFAULT = "default"


def pick(found: dict[str, str], language: str, own_language: str = DEFAULT) -> str:
    """The text in the reader's language, else in the row's own, else any there is."""
    return found.get(language) or found.get(own_language) or next(iter(found.values()), "")


def texts(
    own_language: str, own: str | None, translations: dict[str, Any], key: str
) -> dict[str, str]:
    """One text in every language it exists in: {"en": ..., "zh-CN": ...}."""
    found = {lang: texts[key] for lang, texts in translations.items() if texts.get(key)}
    if own:
        found[own_language] = own
    return found


def incident_payload(incident: Incident) -> IncidentPayload:
    return {
        "id": incident.id,
        "shortlink": incident.shortlink,
        "language": incident.language,
        "name": texts(incident.language, incident.name, incident.translations, "name"),
        "status": incident.status.value,
        "impact": incident.impact.value,
        "started_at": incident.started_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "components": _components(incident.components),
    }


def _components(components: Iterable[Component]) -> list[ComponentPayload]:
    """The components a notice names: every channel says what the public page says, so a
    hidden component is named in none (its subscribers still hear of the incident)."""
    return [
        {
            "id": component.id,
            "name": texts(DEFAULT, component.name, component.translations, "name"),
            "status": component.status.value,
        }
        for component in components
        if not component.hidden
    ]


def update_payload(update: IncidentUpdate) -> UpdatePayload:
    eta = update.expected_resolution_at
    return {
        "id": update.id,
        "status": update.status.value,
        "language": update.language,
        "body": texts(update.language, update.body, update.translations, "body"),
        "cause": texts(update.language, update.cause, update.translations, "cause"),
        "expected_resolution_at": eta.isoformat() if eta else None,
        "display_at": update.display_at.isoformat(),
    }


def maintenance_payload(maintenance: Maintenance) -> MaintenancePayload:
    return {
        "id": maintenance.id,
        "shortlink": maintenance.shortlink,
        "language": maintenance.language,
        "name": texts(maintenance.language, maintenance.name, maintenance.translations, "name"),
        "status": maintenance.status.value,
        "scheduled_for": maintenance.scheduled_for.isoformat(),
        "scheduled_until": maintenance.scheduled_until.isoformat(),
        "components": _components(maintenance.components),
    }


def maintenance_update_payload(update: MaintenanceUpdate) -> MaintenanceUpdatePayload:
    return {
        "id": update.id,
        "status": update.status.value,
        "language": update.language,
        "body": texts(update.language, update.body, update.translations, "body"),
        "display_at": update.display_at.isoformat(),
    }


async def record(
    session: AsyncSession,
    *,
    kind: str,
    payload: EventPayload,
    component_ids: Iterable[int],
    now: datetime,
    audience: Audience = Audience.public,
    incident_id: int | None = None,
    maintenance_id: int | None = None,
    dedup_key: str | None = None,
) -> BroadcastEvent:
    """Writes the event and its deliveries: one INSERT … SELECT, however many subscribers."""
    event = BroadcastEvent(
        kind=kind,
        audience=audience,
        incident_id=incident_id,
        maintenance_id=maintenance_id,
        payload=to_json(payload),
        dedup_key=dedup_key,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await session.execute(
        insert(Delivery).from_select(
            ["event_id", "subscription_id", "state", "attempts", "next_attempt_at", "created_at"],
            select(
                literal(event.id),
                Subscription.id,
                literal(DeliveryState.pending.value),
                literal(0),
                literal(now, Delivery.next_attempt_at.type),
                literal(now, Delivery.created_at.type),
            ).where(_listening(audience, sorted(set(component_ids)))),
        )
    )
    return event


def _listening(audience: Audience, component_ids: list[int]) -> Any:
    audiences = [Audience.staff.value]
    if audience == Audience.public:
        audiences.append(Audience.public.value)  # the support channel hears what the public does
    filtered = exists().where(
        and_(
            subscription_components.c.subscription_id == Subscription.id,
            subscription_components.c.component_id.in_(component_ids),
        )
    )
    return and_(
        Subscription.audience.in_(audiences),
        Subscription.confirmed_at.is_not(None),
        Subscription.disabled_at.is_(None),
        or_(Subscription.all_components.is_(True), filtered)
        if component_ids
        else Subscription.all_components.is_(True),
    )


async def record_direct(
    session: AsyncSession, *, subscription: Subscription, kind: str, now: datetime
) -> Delivery:
    """A message for one subscription only (the confirmation email), through the same outbox."""
    [delivery] = await record_direct_many(session, subscriptions=[subscription], kind=kind, now=now)
    return delivery


async def record_direct_many(
    session: AsyncSession, *, subscriptions: Sequence[Subscription], kind: str, now: datetime
) -> list[Delivery]:
    """`record_direct` for many subscriptions at once (an import's confirmation emails)."""
    events = [
        BroadcastEvent(
            kind=kind, audience=item.audience, payload=to_json(NoPayload()), created_at=now
        )
        for item in subscriptions
    ]
    session.add_all(events)
    await session.flush()
    deliveries = [
        Delivery(
            event_id=event.id,
            subscription_id=item.id,
            state=DeliveryState.pending,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for event, item in zip(events, subscriptions, strict=True)
    ]
    session.add_all(deliveries)
    await session.flush()
    return deliveries


async def announce_incident(
    session: AsyncSession,
    *,
    incident: Incident,
    kind: str,
    now: datetime,
    also_told: Iterable[int] = (),
) -> BroadcastEvent | None:
    """Tells subscribers of the incident's newest update, unless it is a draft or staff
    marked the update "do not notify"; `also_told` are components no longer listed whose
    subscribers hear it too (a correction: they were told their component was affected)."""
    update = max(incident.updates, key=lambda row: row.id)
    if incident.draft or not update.notify:
        return None
    return await record(
        session,
        kind=kind,
        payload=IncidentEvent(incident=incident_payload(incident), update=update_payload(update)),
        component_ids=[*(component.id for component in incident.components), *also_told],
        now=now,
        incident_id=incident.id,
    )


async def announce_maintenance(
    session: AsyncSession,
    *,
    maintenance: Maintenance,
    kind: str,
    now: datetime,
    notify: bool,
    previous: Window | None = None,
    lead_hours: int | None = None,
    dedup_key: str | None = None,
) -> BroadcastEvent | None:
    update = max(maintenance.updates, key=lambda row: row.id)
    if maintenance.draft or not notify:
        return None
    payload = MaintenanceEvent(
        maintenance=maintenance_payload(maintenance), update=maintenance_update_payload(update)
    )
    if previous is not None:
        payload["previous"] = previous
    if lead_hours is not None:
        payload["lead_hours"] = lead_hours
    return await record(
        session,
        kind=kind,
        payload=payload,
        component_ids=[component.id for component in maintenance.components],
        now=now,
        maintenance_id=maintenance.id,
        dedup_key=dedup_key,
    )


MAINTENANCE_KINDS = {
    "scheduled": "maintenance.updated",
    "in_progress": "maintenance.started",
    "verifying": "maintenance.updated",
    "completed": "maintenance.completed",
    "cancelled": "maintenance.cancelled",
}


async def last_notices(session: AsyncSession, incidents: Iterable[Incident]) -> dict[int, Notice]:
    """When subscribers last heard of each incident: its latest notifying update or progress
    broadcast. Incidents they never heard of (every update "do not notify") are left out."""
    incidents = list(incidents)
    progress = dict(
        (
            await session.execute(
                select(BroadcastEvent.incident_id, func.max(BroadcastEvent.created_at))
                .where(
                    BroadcastEvent.incident_id.in_([incident.id for incident in incidents]),
                    BroadcastEvent.kind == "incident.progress",
                )
                .group_by(BroadcastEvent.incident_id)
            )
        ).all()
    )
    notices = {}
    for incident in incidents:
        told = [update.display_at for update in incident.updates if update.notify]
        if told:
            latest = max([*told, *([progress[incident.id]] if incident.id in progress else [])])
            notices[incident.id] = Notice(latest, incident.impact)
    return notices


async def seen(session: AsyncSession, *, dedup_key: str) -> bool:
    found = await session.scalar(
        select(BroadcastEvent.id).where(BroadcastEvent.dedup_key == dedup_key)
    )
    return found is not None
