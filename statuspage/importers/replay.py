"""Writing what a source published through the incident domain's own flows, at the times it
was published and with "do not notify" on every step: the audit log, the outbox (which stays
empty) and the public version move as for staff's own changes, and nobody is told of the past."""

from __future__ import annotations

from incidents import component_flows, flows, service
from incidents.models import ComponentStatus, IncidentStatus
from incidents.schemas import ComponentIn, ComponentPatch, GroupIn, PostmortemIn
from statuspage.importers import records as source
from statuspage.importers.context import Context
from statuspage.importers.incident_steps import step_incident
from statuspage.importers.maintenance_steps import step_maintenance


async def replay(context: Context, page: source.Page) -> None:
    new_components = await _catalogue(context, page)
    component_ids = {
        source_id: our_id
        for source_id in page.components
        if (our_id := context.ledger.find("component", source_id)) is not None
    }
    incidents = sorted(page.incidents.values(), key=lambda item: item.updates[0].display_at)
    for incident in incidents:
        await context.guarded(
            f"incident {incident.id}", _incident(context, incident, component_ids)
        )
    maintenances = sorted(page.maintenances.values(), key=lambda item: item.scheduled_for)
    for maintenance in maintenances:
        await context.guarded(
            f"maintenance {maintenance.id}",
            step_maintenance(context, maintenance, component_ids),
        )
    await _statuses_as_shown(context, page, new_components)


async def _catalogue(context: Context, page: source.Page) -> list[source.Component]:
    for group in sorted(page.groups.values(), key=lambda item: item.position):
        if context.ledger.find("group", group.id) is None:
            await context.guarded(f"group {group.id}", _group(context, group))
    new = []
    for component in sorted(page.components.values(), key=lambda item: item.position):
        if context.ledger.find("component", component.id) is None:
            await context.guarded(f"component {component.id}", _component(context, component))
            new.append(component)
    return new


async def _group(context: Context, group: source.Group) -> None:
    made = await component_flows.create_group(
        context.session,
        data=GroupIn(name=group.name, description=group.description, position=group.position),
        actor=context.actor(),
    )
    context.ledger.remember("group", group.id, made.id)
    context.report.did("groups", f"group {group.name!r}")


async def _component(context: Context, component: source.Component) -> None:
    group_id = context.ledger.find("group", component.group_id) if component.group_id else None
    made = await component_flows.create_component(
        context.session,
        data=ComponentIn(
            name=component.name,
            description=component.description,
            position=component.position,
            group_id=group_id,
        ),
        actor=context.actor(),
    )
    context.ledger.remember("component", component.id, made.id)
    context.report.did("components", f"component {component.name!r}")


async def _incident(
    context: Context, incident: source.Incident, component_ids: dict[str, int]
) -> None:
    our_id = context.ledger.find("incident", incident.id)
    for update in incident.updates:
        if context.ledger.find("update", update.id) is None:
            our_id = await step_incident(context, incident, update, our_id, component_ids)
    wanted = incident.postmortem_body and our_id is not None
    if wanted and context.ledger.find("postmortem", incident.id) is None:
        assert our_id is not None
        await _postmortem(context, incident, our_id)


async def _postmortem(context: Context, incident: source.Incident, our_id: int) -> None:
    found = await service.get_incident(context.session, incident_id=our_id)
    if found.status != IncidentStatus.resolved:
        context.report.note(f"incident {incident.name!r}: postmortem left out (not resolved)")
        return
    assert incident.postmortem_body is not None
    at = incident.postmortem_published_at or incident.updates[-1].display_at
    await flows.add_postmortem(
        context.session,
        incident_id=our_id,
        data=PostmortemIn(body=incident.postmortem_body),
        actor=context.actor(at),
    )
    context.ledger.remember("postmortem", incident.id, our_id)
    context.report.did("postmortems", f"postmortem of {incident.name!r}")


async def _statuses_as_shown(
    context: Context, page: source.Page, new: list[source.Component]
) -> None:
    """A component the source shows as not operational without any incident saying so was
    set by hand there: it is set by hand here too (only when it is first imported)."""
    for component in new:
        our_id = context.ledger.find("component", component.id)
        assert our_id is not None
        ours = await service.get_component(context.session, component_id=our_id)
        if component.status != ComponentStatus.operational and ours.status != component.status:
            await component_flows.edit_component(
                context.session,
                component_id=our_id,
                data=ComponentPatch(status=ComponentStatus(component.status)),
                actor=context.actor(),
            )
