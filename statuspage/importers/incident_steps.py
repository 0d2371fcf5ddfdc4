"""One published incident update, replayed through the incident flows at its own time."""

from __future__ import annotations

from typing import Any

from incidents import flows, service
from incidents.models import ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate
from incidents.schemas import IncidentOpen, ReopenIn, ResolveIn, UpdateIn
from statuspage.importers import records as source
from statuspage.importers.context import Context

_OPENING = ("investigating", "identified", "monitoring")
_CLOSING = ("resolved", "postmortem")
_IMPACTS = frozenset(impact.value for impact in Impact)


def body_of(update: source.Update) -> str:
    """The update's text; Statuspage allows none, ours needs one: its status in words."""
    return update.body.strip() or update.status.replace("_", " ").capitalize() + "."


def _statuses(update: source.Update, component_ids: dict[str, int]) -> dict[int, ComponentStatus]:
    return {
        component_ids[code]: ComponentStatus(status)
        for code, status in update.changes.items()
        if code in component_ids
    }


async def step_incident(
    context: Context,
    incident: source.Incident,
    update: source.Update,
    our_id: int | None,
    component_ids: dict[str, int],
) -> int:
    """Posts `update` (opening the incident with its first one); returns our incident id."""
    common: dict[str, Any] = {
        "body": body_of(update),
        "display_at": update.display_at,
        "notify": False,  # the past is shown, never broadcast
        "language": context.language,
        "components": _statuses(update, component_ids),
    }
    opening = None
    if our_id is None:
        opened = await _open(context, incident, update, common, component_ids)
        our_id, opening = opened.id, opened.updates[-1]
        if update.status in _OPENING:
            return _remember(context, update, opening.id, our_id)
        common["components"] = {}  # said by the opening entry already
    current = (await service.get_incident(context.session, incident_id=our_id)).status
    closed = current == IncidentStatus.resolved and update.status in _CLOSING
    if closed or current == IncidentStatus.postmortem:
        # Statuspage takes more words after the resolution; ours reopens first. Listed.
        context.report.note(
            f"incident {incident.name!r}: update {update.id} after its resolution left out"
        )
        return our_id
    found = await _post(context, our_id, current, update, common)
    newest = max(found.updates, key=lambda row: row.id)
    if opening is not None:
        # The source told it in one entry, already resolved: ours opens before it resolves,
        # and the opening entry (the same words, the same time) is not shown twice.
        await _drop(context, found, opening)
    return _remember(context, update, newest.id, our_id)


async def _drop(context: Context, incident: Incident, opening: IncidentUpdate) -> None:
    incident.updates.remove(opening)
    await context.session.delete(opening)
    await context.session.flush()


async def _open(
    context: Context,
    incident: source.Incident,
    update: source.Update,
    common: dict[str, Any],
    component_ids: dict[str, int],
) -> Incident:
    opened = await flows.open_incident(
        context.session,
        data=IncidentOpen(
            name=incident.name[:200],
            # "": the source has no impact; ours derives it from the component statuses.
            impact=Impact(incident.impact) if incident.impact in _IMPACTS else None,
            status=update.status if update.status in _OPENING else "investigating",
            component_ids=[component_ids[c] for c in incident.component_ids if c in component_ids],
            **common,
        ),
        actor=context.actor(update.display_at),
    )
    context.ledger.remember("incident", incident.id, opened.id)
    context.report.did("incidents", f"incident {incident.name!r}")
    return opened


async def _post(
    context: Context,
    our_id: int,
    current: IncidentStatus,
    update: source.Update,
    common: dict[str, Any],
) -> Incident:
    actor = context.actor(update.display_at)
    if update.status in _CLOSING:
        return await flows.resolve_incident(
            context.session, incident_id=our_id, data=ResolveIn(**common), actor=actor
        )
    if current == IncidentStatus.resolved:
        return await flows.reopen_incident(
            context.session,
            incident_id=our_id,
            data=ReopenIn(status=update.status, **common),
            actor=actor,
        )
    return await flows.post_update(
        context.session,
        incident_id=our_id,
        data=UpdateIn(status=IncidentStatus(update.status), **common),
        actor=actor,
    )


def _remember(context: Context, update: source.Update, our_update_id: int, our_id: int) -> int:
    context.ledger.remember("update", update.id, our_update_id)
    return our_id
