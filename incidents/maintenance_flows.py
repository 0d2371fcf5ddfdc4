"""Scheduled maintenance: announce, reschedule, move through its statuses, cancel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import rules, service
from incidents.broadcasting import outbox
from incidents.broadcasting.payloads import Window
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, InvalidInput
from incidents.common.snapshots import snapshot
from incidents.flows import display_time
from incidents.models import Maintenance, MaintenanceStatus
from incidents.schemas import (
    BodyText,
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenancePatch,
    MaintenanceUpdateIn,
)


async def create_maintenance(
    session: AsyncSession, *, data: MaintenanceIn, actor: Actor
) -> Maintenance:
    language = data.language or actor.default_language
    service.check_translations(dict(data.translations), own_language=language)
    chosen = await service.components_chosen(session, choice=data)
    maintenance = Maintenance(
        shortlink=service.new_shortlink(),
        name=data.name,
        language=language,
        translations={
            lang: {"name": text.name} for lang, text in data.translations.items() if text.name
        },
        status=MaintenanceStatus.scheduled,
        scheduled_for=data.scheduled_for,
        scheduled_until=data.scheduled_until,
        started_at=None,
        completed_at=None,
        draft=data.draft,
        auto_start=data.auto_start,
        auto_complete=data.auto_complete,
        created_by=actor.staff_id,
        components=chosen,
        updates=[],
    )
    session.add(maintenance)
    service.add_maintenance_update(
        maintenance,
        status=MaintenanceStatus.scheduled,
        body=data.body,
        language=language,
        translations={lang: {"body": text.body} for lang, text in data.translations.items()},
        display_at=actor.now,
        notify=data.notify,
        author_id=actor.staff_id,
    )
    await session.flush()
    await _audit(session, actor, "maintenance.create", maintenance, None)
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance.id)
    await outbox.announce_maintenance(
        session,
        maintenance=maintenance,
        kind="maintenance.scheduled",
        now=actor.now,
        notify=data.notify,
    )
    return maintenance


async def edit_maintenance(
    session: AsyncSession, *, maintenance_id: int, data: MaintenancePatch, actor: Actor
) -> Maintenance:
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance_id)
    rules.check_maintenance_edit(maintenance.status)
    before = snapshot(maintenance)
    was_draft = maintenance.draft
    window = (maintenance.scheduled_for, maintenance.scheduled_until)
    if data.name is not None:
        maintenance.name = data.name
    if data.auto_start is not None:
        maintenance.auto_start = data.auto_start
    if data.auto_complete is not None:
        maintenance.auto_complete = data.auto_complete
    if data.draft is False:
        maintenance.draft = False
    if data.scheduled_for is not None:
        maintenance.scheduled_for = data.scheduled_for
    if data.scheduled_until is not None:
        maintenance.scheduled_until = data.scheduled_until
    if maintenance.scheduled_until <= maintenance.scheduled_for:
        raise InvalidInput(
            N_("scheduled_until must be after scheduled_for"), field="scheduled_until"
        )
    if (choice := data.chosen()) is not None:
        maintenance.components = await service.components_chosen(session, choice=choice)
    if data.translations is not None:
        service.check_translations(dict(data.translations), own_language=maintenance.language)
        translations = {lang: dict(texts) for lang, texts in maintenance.translations.items()}
        for lang, text in data.translations.items():
            translations.setdefault(lang, {})["name"] = text.name
        maintenance.translations = translations
    await service.recompute_component_statuses(session)
    await _audit(session, actor, "maintenance.edit", maintenance, before)
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance.id)
    if was_draft and not maintenance.draft:
        kind = "maintenance.scheduled"
    elif window != (maintenance.scheduled_for, maintenance.scheduled_until):
        kind = "maintenance.rescheduled"
    else:
        return maintenance
    previous = Window(scheduled_for=window[0].isoformat(), scheduled_until=window[1].isoformat())
    await outbox.announce_maintenance(
        session,
        maintenance=maintenance,
        kind=kind,
        now=actor.now,
        notify=data.notify,
        previous=previous if kind == "maintenance.rescheduled" else None,
    )
    return maintenance


async def post_maintenance_update(
    session: AsyncSession, *, maintenance_id: int, data: MaintenanceUpdateIn, actor: Actor
) -> Maintenance:
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance_id)
    rules.check_maintenance_transition(maintenance.status, data.status)
    return await _move(
        session,
        maintenance,
        status=data.status,
        body=data.body,
        language=data.language,
        translations=data.translations,
        notify=data.notify,
        display_at=display_time(data.display_at, actor.now),
        actor=actor,
    )


async def cancel_maintenance(
    session: AsyncSession, *, maintenance_id: int, data: MaintenanceCancelIn, actor: Actor
) -> Maintenance:
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance_id)
    rules.check_maintenance_transition(maintenance.status, MaintenanceStatus.cancelled)
    return await _move(
        session,
        maintenance,
        status=MaintenanceStatus.cancelled,
        body=data.body,
        language=data.language,
        translations=data.translations,
        notify=data.notify,
        display_at=actor.now,
        actor=actor,
    )


async def _move(
    session: AsyncSession,
    maintenance: Maintenance,
    *,
    status: MaintenanceStatus,
    body: str,
    language: str | None,
    translations: dict[str, BodyText],
    notify: bool,
    display_at: datetime,
    actor: Actor,
) -> Maintenance:
    language = language or actor.default_language
    service.check_translations(dict(translations), own_language=language)
    before = snapshot(maintenance)
    service.add_maintenance_update(
        maintenance,
        status=status,
        body=body,
        language=language,
        translations={lang: {"body": text.body} for lang, text in translations.items()},
        display_at=display_at,
        notify=notify,
        author_id=actor.staff_id,
    )
    if status == MaintenanceStatus.in_progress and maintenance.started_at is None:
        maintenance.started_at = display_at
    if status == MaintenanceStatus.completed:
        maintenance.completed_at = display_at
    maintenance.status = status
    await service.recompute_component_statuses(session)
    await _audit(session, actor, f"maintenance.{status.value}", maintenance, before)
    maintenance = await service.get_maintenance(session, maintenance_id=maintenance.id)
    await outbox.announce_maintenance(
        session,
        maintenance=maintenance,
        kind=outbox.MAINTENANCE_KINDS[status.value],
        now=actor.now,
        notify=notify,
    )
    return maintenance


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    maintenance: Maintenance,
    before: dict[str, object] | None,
) -> None:
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action=action,
        entity_type="maintenance",
        entity_id=maintenance.id,
        before=before,
        after=snapshot(maintenance),
    )
