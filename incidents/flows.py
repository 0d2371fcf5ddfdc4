"""Incident operations that span several writes: open, update, resolve, reopen, postmortem,
and the corrections: an update's text, a component listed by mistake."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import rules, service
from incidents.broadcasting import outbox
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, InvalidInput
from incidents.common.snapshots import snapshot
from incidents.models import (
    ComponentChange,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)
from incidents.schemas import (
    ComponentCorrectionIn,
    IncidentOpen,
    IncidentPatch,
    PostmortemIn,
    ReopenIn,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
    UpdateText,
)

# Clocks of staff laptops drift; a display time this far ahead still counts as "now".
CLOCK_SKEW = timedelta(seconds=60)


async def open_incident(session: AsyncSession, *, data: IncidentOpen, actor: Actor) -> Incident:
    language = data.language or actor.default_language
    service.check_translations(dict(data.translations), own_language=language)
    display_at = display_time(data.display_at, actor.now)
    incident = Incident(
        shortlink=service.new_shortlink(),
        name=data.name,
        language=language,
        translations={
            lang: {"name": text.name} for lang, text in data.translations.items() if text.name
        },
        impact=data.impact or rules.impact_of(data.components.values()),
        status=IncidentStatus(data.status),
        draft=data.draft,
        started_at=display_at,
        resolved_at=None,
        created_by=actor.staff_id,
        components=[],
        updates=[],
    )
    named = await service.components_by_id(session, ids=data.component_ids, field="component_ids")
    incident.components.extend(named.values())
    session.add(incident)
    update_text = {
        lang: UpdateText(body=text.body, cause=text.cause)
        for lang, text in data.translations.items()
    }
    await _add_update(
        session, incident, data, status=IncidentStatus(data.status), texts=update_text, actor=actor
    )
    await service.recompute_component_statuses(session)
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="incident.open",
        entity_type="incident",
        entity_id=incident.id,
        after=snapshot(incident),
    )
    incident = await service.get_incident(session, incident_id=incident.id)
    await outbox.announce_incident(
        session, incident=incident, kind="incident.opened", now=actor.now
    )
    return incident


async def post_update(
    session: AsyncSession, *, incident_id: int, data: UpdateIn, actor: Actor
) -> Incident:
    incident = await service.get_incident(session, incident_id=incident_id)
    rules.check_update(incident.status, data.status)
    if data.status == IncidentStatus.resolved:
        resolve = ResolveIn.model_validate(data.model_dump(exclude={"status"}))
        return await resolve_incident(session, incident_id=incident_id, data=resolve, actor=actor)
    before = snapshot(incident)
    await _add_update(
        session, incident, data, status=data.status, texts=data.translations, actor=actor
    )
    incident.status = data.status
    return await _finish(session, incident, "incident.update", before, actor, announce=True)


async def resolve_incident(
    session: AsyncSession, *, incident_id: int, data: ResolveIn, actor: Actor
) -> Incident:
    incident = await service.get_incident(session, incident_id=incident_id)
    rules.check_resolve(incident.status)
    before = snapshot(incident)
    still_down = {
        component_id: ComponentStatus.operational
        for component_id, status in rules.latest_component_statuses(
            service.status_changes(incident)
        ).items()
        if status != ComponentStatus.operational
    }
    data = data.model_copy(update={"components": {**still_down, **data.components}})
    update = await _add_update(
        session,
        incident,
        data,
        status=IncidentStatus.resolved,
        texts=data.translations,
        actor=actor,
    )
    incident.status = IncidentStatus.resolved
    incident.resolved_at = update.display_at
    return await _finish(session, incident, "incident.resolve", before, actor, announce=True)


async def reopen_incident(
    session: AsyncSession, *, incident_id: int, data: ReopenIn, actor: Actor
) -> Incident:
    incident = await service.get_incident(session, incident_id=incident_id)
    status = IncidentStatus(data.status)
    rules.check_reopen(incident.status, status)
    before = snapshot(incident)
    await _add_update(session, incident, data, status=status, texts=data.translations, actor=actor)
    incident.status = status
    incident.resolved_at = None
    return await _finish(session, incident, "incident.reopen", before, actor, announce=True)


async def add_postmortem(
    session: AsyncSession, *, incident_id: int, data: PostmortemIn, actor: Actor
) -> Incident:
    """Adds the postmortem to a resolved incident, or edits the one it has."""
    incident = await service.get_incident(session, incident_id=incident_id)
    rules.check_postmortem(incident.status)
    service.check_translations(dict(data.translations), own_language=incident.language)
    before = snapshot(incident)
    incident.postmortem_body = data.body
    translations = {lang: dict(texts) for lang, texts in incident.translations.items()}
    for lang in translations:
        translations[lang].pop("postmortem", None)
    for lang, text in data.translations.items():
        translations.setdefault(lang, {})["postmortem"] = text.body
    incident.translations = translations
    if incident.postmortem_published_at is None:
        incident.postmortem_published_at = actor.now
    incident.status = IncidentStatus.postmortem
    return await _finish(session, incident, "incident.postmortem", before, actor)


async def edit_update(
    session: AsyncSession, *, incident_id: int, update_id: int, data: UpdateEdit, actor: Actor
) -> Incident:
    """Corrects an update's text; what it did to statuses stays as it was."""
    incident = await service.get_incident(session, incident_id=incident_id)
    rules.check_update_edit(incident.status)
    update = await service.get_update(session, incident_id=incident_id, update_id=update_id)
    before = snapshot(update)
    sent = data.model_fields_set
    if "body" in sent and data.body is not None:
        update.body = data.body
    if "cause" in sent:
        update.cause = data.cause
    if "expected_resolution_at" in sent:
        _check_eta(data.expected_resolution_at, update.display_at)
        update.expected_resolution_at = data.expected_resolution_at
    if data.translations is not None:
        service.check_translations(dict(data.translations), own_language=update.language)
        update.translations = _update_translations(data.translations)
    update.edited_at = actor.now
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="incident.update.edit",
        entity_type="incident_update",
        entity_id=update.id,
        before=before,
        after=snapshot(update),
    )
    return await service.get_incident(session, incident_id=incident_id)


async def remove_component(
    session: AsyncSession, *, incident_id: int, data: ComponentCorrectionIn, actor: Actor
) -> Incident:
    """Takes a component listed by mistake off the incident: every status this incident set
    for it goes, and with them its impact windows (so what compensation pays for them); a
    correction on the timeline says so, and the audit log keeps what was removed."""
    incident = await service.get_incident(session, incident_id=incident_id)
    component_id = data.component_id
    removed = [
        (update, change)
        for update in incident.updates
        for change in update.component_changes
        if change.component_id == component_id
    ]
    if not removed and all(component.id != component_id for component in incident.components):
        raise InvalidInput(
            N_("component %(component_id)s is not listed on this incident"),
            field="component_id",
            component_id=component_id,
        )
    language = data.language or incident.language
    service.check_translations(dict(data.translations), own_language=language)
    before = {**snapshot(incident), "removed_changes": [snapshot(row) for _, row in removed]}
    for update, change in removed:
        update.component_changes.remove(change)
    incident.components = [row for row in incident.components if row.id != component_id]
    correction = IncidentUpdate(
        status=incident.status,
        body=data.body,
        language=language,
        translations={lang: {"body": text.body} for lang, text in data.translations.items()},
        display_at=actor.now,
        notify=data.notify,
        author_id=actor.staff_id,
        corrected_component_id=component_id,
        component_changes=[],
    )
    incident.updates.append(correction)
    await session.flush()
    return await _finish(
        session, incident, "incident.correct", before, actor, announce=True, also=[component_id]
    )


async def edit_incident(
    session: AsyncSession, *, incident_id: int, data: IncidentPatch, actor: Actor
) -> Incident:
    incident = await service.get_incident(session, incident_id=incident_id)
    before = snapshot(incident)
    if data.name is not None:
        incident.name = data.name
    if data.impact is not None:
        incident.impact = data.impact
    if data.component_ids is not None:
        named = await service.components_by_id(
            session, ids=data.component_ids, field="component_ids"
        )
        touched = {change.component_id for change in service.status_changes(incident)}
        if missing := sorted(touched - set(named)):
            raise InvalidInput(
                N_("component %(missing)s has a status set by this incident and stays affected"),
                field="component_ids",
                missing=missing[0],
            )
        incident.components = list(named.values())
    if data.translations is not None:
        service.check_translations(dict(data.translations), own_language=incident.language)
        translations = {lang: dict(texts) for lang, texts in incident.translations.items()}
        for lang, text in data.translations.items():
            translations.setdefault(lang, {})["name"] = text.name
        incident.translations = translations
    return await _finish(session, incident, "incident.edit", before, actor)


async def publish_incident(session: AsyncSession, *, incident_id: int, actor: Actor) -> Incident:
    incident = await service.get_incident(session, incident_id=incident_id)
    if not incident.draft:
        raise InvalidInput(N_("this incident is already published"), field="draft")
    before = snapshot(incident)
    incident.draft = False
    return await _finish(session, incident, "incident.publish", before, actor, announce=True)


# -- helpers ------------------------------------------------------------------------------


async def _add_update(
    session: AsyncSession,
    incident: Incident,
    data: IncidentOpen | UpdateIn | ResolveIn | ReopenIn,
    *,
    status: IncidentStatus,
    texts: Mapping[str, UpdateText],
    actor: Actor,
) -> IncidentUpdate:
    language = data.language or actor.default_language
    service.check_translations(dict(texts), own_language=language)
    display_at = display_time(data.display_at, actor.now)
    _check_eta(data.expected_resolution_at, display_at)
    update = IncidentUpdate(
        status=status,
        body=data.body,
        cause=data.cause,
        language=language,
        translations=_update_translations(texts),
        expected_resolution_at=data.expected_resolution_at,
        display_at=display_at,
        notify=data.notify,
        author_id=actor.staff_id,
        component_changes=[],
    )
    incident.updates.append(update)
    incident.started_at = min(incident.started_at, display_at)
    named = await service.components_by_id(session, ids=list(data.components), field="components")
    said = rules.latest_component_statuses(service.status_changes(incident))
    for component_id, new_status in sorted(data.components.items()):
        if said.get(component_id, ComponentStatus.operational) == new_status:
            continue  # this incident already says so: nothing changes, nothing is affected
        component = named[component_id]
        update.component_changes.append(
            ComponentChange(
                component_id=component_id, old_status=component.status, new_status=new_status
            )
        )
        if component not in incident.components:
            incident.components.append(component)
    await session.flush()
    return update


def _update_translations(texts: Mapping[str, UpdateText]) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for lang, text in texts.items():
        stored[lang] = {"body": text.body, **({"cause": text.cause} if text.cause else {})}
    return stored


def display_time(requested: datetime | None, now: datetime) -> datetime:
    if requested is None:
        return now
    if requested > now + CLOCK_SKEW:
        raise InvalidInput(
            N_("display_at is in the future; an update is shown as posted now or earlier"),
            field="display_at",
        )
    return requested


def _check_eta(expected_resolution_at: datetime | None, display_at: datetime) -> None:
    if expected_resolution_at is not None and expected_resolution_at <= display_at:
        raise InvalidInput(
            N_("expected_resolution_at must be later than the update's display time"),
            field="expected_resolution_at",
        )


_ANNOUNCED = {
    "incident.update": "incident.updated",
    "incident.resolve": "incident.resolved",
    "incident.reopen": "incident.reopened",
    "incident.publish": "incident.opened",
    "incident.correct": "incident.updated",
}


async def _finish(
    session: AsyncSession,
    incident: Incident,
    action: str,
    before: dict[str, object],
    actor: Actor,
    *,
    announce: bool = False,
    also: Iterable[int] = (),
) -> Incident:
    await service.recompute_component_statuses(session)
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action=action,
        entity_type="incident",
        entity_id=incident.id,
        before=before,
        after=snapshot(incident),
    )
    incident = await service.get_incident(session, incident_id=incident.id)
    if announce:
        await outbox.announce_incident(
            session, incident=incident, kind=_ANNOUNCED[action], now=actor.now, also_told=also
        )
    return incident
