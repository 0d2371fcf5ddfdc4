"""The staff JSON API under /api/staff/: thin handlers over the incident flows."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incidents import component_flows, flows, maintenance_flows, service
from incidents.common import audit
from incidents.common.staff import ADMIN, ANY_STAFF, SUPPORT, StaffRole
from incidents.models import (
    Component,
    ComponentGroup,
    Incident,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
)
from incidents.schemas import (
    AuditOut,
    ComponentIn,
    ComponentOut,
    ComponentPatch,
    GroupIn,
    GroupOut,
    GroupPatch,
    ImpactWindowOut,
    IncidentOpen,
    IncidentOut,
    IncidentPatch,
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenanceOut,
    MaintenancePatch,
    MaintenanceUpdateIn,
    PostmortemIn,
    ReopenIn,
    ReorderIn,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
    UpdateOut,
)
from statuspage.api.routing import Call, Endpoint

# -- query shapes -------------------------------------------------------------------------


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _statuses(raw: str | None, kind: type[Any]) -> list[Any] | None:
    if raw is None or raw == "":
        return None
    names = [name.strip() for name in raw.split(",")]
    valid = {member.value for member in kind}
    for name in names:
        if name not in valid:
            raise ValueError(f"{name!r} is not one of {', '.join(sorted(valid))}")
    return [kind(name) for name in names]


class IncidentQuery(_Query):
    status: str | None = Field(default=None, description="comma-separated incident statuses")
    include_drafts: bool = True
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: str | None) -> str | None:
        _statuses(value, IncidentStatus)
        return value


class MaintenanceQuery(_Query):
    status: str | None = Field(default=None, description="comma-separated maintenance statuses")
    include_drafts: bool = True
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: str | None) -> str | None:
        _statuses(value, MaintenanceStatus)
        return value


class AuditQuery(_Query):
    action: Annotated[str, Field(max_length=64)] | None = None
    entity_type: Annotated[str, Field(max_length=64)] | None = None
    entity_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    actor_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    before_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class MeOut(BaseModel):
    staff_id: int
    email: str
    role: StaffRole


# -- serializers --------------------------------------------------------------------------


def incident_out(incident: Incident) -> IncidentOut:
    windows = service.impact_windows(incident)
    return IncidentOut.model_validate(
        {
            **{name: getattr(incident, name) for name in _INCIDENT_COLUMNS},
            "component_ids": [component.id for component in incident.components],
            "updates": [UpdateOut.model_validate(update) for update in incident.updates],
            "impact_windows": [
                ImpactWindowOut.model_validate(window)
                for component_windows in windows.values()
                for window in component_windows
            ],
        }
    )


_INCIDENT_COLUMNS = [
    name
    for name in IncidentOut.model_fields
    if name not in {"component_ids", "updates", "impact_windows"}
]


def maintenance_out(maintenance: Maintenance) -> MaintenanceOut:
    return MaintenanceOut.model_validate(
        {
            **{name: getattr(maintenance, name) for name in _MAINTENANCE_COLUMNS},
            "component_ids": [component.id for component in maintenance.components],
            "updates": maintenance.updates,
        }
    )


_MAINTENANCE_COLUMNS = [
    name for name in MaintenanceOut.model_fields if name not in {"component_ids", "updates"}
]


# -- handlers -----------------------------------------------------------------------------


async def me(call: Call) -> MeOut:
    principal = call.principal
    return MeOut(staff_id=principal.staff_id, email=principal.email, role=principal.role)


async def list_groups(call: Call) -> list[GroupOut]:
    return [GroupOut.model_validate(group) for group in await service.list_groups(call.session)]


async def create_group(call: Call) -> GroupOut:
    group = await component_flows.create_group(call.session, data=call.body, actor=call.actor())
    return GroupOut.model_validate(group)


async def edit_group(call: Call) -> GroupOut:
    group = await component_flows.edit_group(
        call.session, group_id=call.path["group_id"], data=call.body, actor=call.actor()
    )
    return GroupOut.model_validate(group)


async def reorder_groups(call: Call) -> list[GroupOut]:
    await component_flows.reorder(
        call.session, model=ComponentGroup, data=call.body, actor=call.actor()
    )
    return await list_groups(call)


async def list_components(call: Call) -> list[ComponentOut]:
    components = await service.list_components(call.session)
    return [ComponentOut.model_validate(component) for component in components]


async def get_component(call: Call) -> ComponentOut:
    component = await service.get_component(call.session, component_id=call.path["component_id"])
    return ComponentOut.model_validate(component)


async def create_component(call: Call) -> ComponentOut:
    component = await component_flows.create_component(
        call.session, data=call.body, actor=call.actor()
    )
    return ComponentOut.model_validate(component)


async def edit_component(call: Call) -> ComponentOut:
    component = await component_flows.edit_component(
        call.session, component_id=call.path["component_id"], data=call.body, actor=call.actor()
    )
    return ComponentOut.model_validate(component)


async def reorder_components(call: Call) -> list[ComponentOut]:
    await component_flows.reorder(call.session, model=Component, data=call.body, actor=call.actor())
    return await list_components(call)


async def list_incidents(call: Call) -> list[IncidentOut]:
    query: IncidentQuery = call.query
    incidents = await service.list_incidents(
        call.session,
        statuses=_statuses(query.status, IncidentStatus),
        include_drafts=query.include_drafts,
        limit=query.limit,
        before_id=query.before_id,
    )
    return [incident_out(incident) for incident in incidents]


async def get_incident(call: Call) -> IncidentOut:
    incident = await service.get_incident(call.session, incident_id=call.path["incident_id"])
    return incident_out(incident)


async def open_incident(call: Call) -> IncidentOut:
    incident = await flows.open_incident(call.session, data=call.body, actor=call.actor())
    return incident_out(incident)


async def edit_incident(call: Call) -> IncidentOut:
    incident = await flows.edit_incident(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def post_update(call: Call) -> IncidentOut:
    incident = await flows.post_update(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def edit_update(call: Call) -> IncidentOut:
    incident = await flows.edit_update(
        call.session,
        incident_id=call.path["incident_id"],
        update_id=call.path["update_id"],
        data=call.body,
        actor=call.actor(),
    )
    return incident_out(incident)


async def resolve(call: Call) -> IncidentOut:
    incident = await flows.resolve_incident(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def reopen(call: Call) -> IncidentOut:
    incident = await flows.reopen_incident(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def postmortem(call: Call) -> IncidentOut:
    incident = await flows.add_postmortem(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def publish(call: Call) -> IncidentOut:
    incident = await flows.publish_incident(
        call.session, incident_id=call.path["incident_id"], actor=call.actor()
    )
    return incident_out(incident)


async def list_maintenances(call: Call) -> list[MaintenanceOut]:
    query: MaintenanceQuery = call.query
    items = await service.list_maintenances(
        call.session,
        statuses=_statuses(query.status, MaintenanceStatus),
        include_drafts=query.include_drafts,
        limit=query.limit,
    )
    return [maintenance_out(item) for item in items]


async def get_maintenance(call: Call) -> MaintenanceOut:
    item = await service.get_maintenance(call.session, maintenance_id=call.path["maintenance_id"])
    return maintenance_out(item)


async def create_maintenance(call: Call) -> MaintenanceOut:
    item = await maintenance_flows.create_maintenance(
        call.session, data=call.body, actor=call.actor()
    )
    return maintenance_out(item)


async def edit_maintenance(call: Call) -> MaintenanceOut:
    item = await maintenance_flows.edit_maintenance(
        call.session, maintenance_id=call.path["maintenance_id"], data=call.body, actor=call.actor()
    )
    return maintenance_out(item)


async def post_maintenance_update(call: Call) -> MaintenanceOut:
    item = await maintenance_flows.post_maintenance_update(
        call.session, maintenance_id=call.path["maintenance_id"], data=call.body, actor=call.actor()
    )
    return maintenance_out(item)


async def cancel_maintenance(call: Call) -> MaintenanceOut:
    item = await maintenance_flows.cancel_maintenance(
        call.session, maintenance_id=call.path["maintenance_id"], data=call.body, actor=call.actor()
    )
    return maintenance_out(item)


async def list_audit(call: Call) -> list[AuditOut]:
    query: AuditQuery = call.query
    entries = await audit.list_entries(call.session, **query.model_dump(exclude_none=True))
    return [AuditOut.model_validate(entry) for entry in entries]


def _e(
    method: str, path: str, handler: Any, roles: frozenset[StaffRole], summary: str, **options: Any
) -> Endpoint:
    tag = path.strip("/").split("/")[0]
    return Endpoint(method, path, handler, roles, summary, tags=(tag,), **options)


ENDPOINTS: list[Endpoint] = [
    _e("GET", "/me", me, ANY_STAFF, "who the token belongs to", response=MeOut),
    _e(
        "GET",
        "/groups",
        list_groups,
        ANY_STAFF,
        "list component groups",
        response=list[GroupOut],
    ),
    _e(
        "POST",
        "/groups",
        create_group,
        SUPPORT,
        "create a component group",
        body=GroupIn,
        response=GroupOut,
        status_code=201,
    ),
    _e(
        "PATCH",
        "/groups/{group_id}",
        edit_group,
        SUPPORT,
        "edit a component group",
        body=GroupPatch,
        response=GroupOut,
    ),
    _e(
        "POST",
        "/groups/reorder",
        reorder_groups,
        SUPPORT,
        "set the order of groups",
        body=ReorderIn,
        response=list[GroupOut],
    ),
    _e(
        "GET",
        "/components",
        list_components,
        ANY_STAFF,
        "list components",
        response=list[ComponentOut],
    ),
    _e(
        "POST",
        "/components",
        create_component,
        SUPPORT,
        "create a component",
        body=ComponentIn,
        response=ComponentOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/components/{component_id}",
        get_component,
        ANY_STAFF,
        "read a component",
        response=ComponentOut,
    ),
    _e(
        "PATCH",
        "/components/{component_id}",
        edit_component,
        SUPPORT,
        "edit a component or set its status by hand",
        body=ComponentPatch,
        response=ComponentOut,
    ),
    _e(
        "POST",
        "/components/reorder",
        reorder_components,
        SUPPORT,
        "set the order of components",
        body=ReorderIn,
        response=list[ComponentOut],
    ),
    _e(
        "GET",
        "/incidents",
        list_incidents,
        ANY_STAFF,
        "list incidents, drafts included",
        query=IncidentQuery,
        response=list[IncidentOut],
    ),
    _e(
        "POST",
        "/incidents",
        open_incident,
        SUPPORT,
        "open an incident with its first update",
        body=IncidentOpen,
        response=IncidentOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/incidents/{incident_id}",
        get_incident,
        ANY_STAFF,
        "read an incident with its timeline and impact windows",
        response=IncidentOut,
    ),
    _e(
        "PATCH",
        "/incidents/{incident_id}",
        edit_incident,
        SUPPORT,
        "edit an incident's name, impact or affected components",
        body=IncidentPatch,
        response=IncidentOut,
    ),
    _e(
        "POST",
        "/incidents/{incident_id}/updates",
        post_update,
        SUPPORT,
        "post an update",
        body=UpdateIn,
        response=IncidentOut,
        status_code=201,
    ),
    _e(
        "PATCH",
        "/incidents/{incident_id}/updates/{update_id}",
        edit_update,
        SUPPORT,
        "correct an update's text",
        body=UpdateEdit,
        response=IncidentOut,
    ),
    _e(
        "POST",
        "/incidents/{incident_id}/resolve",
        resolve,
        SUPPORT,
        "resolve an incident",
        body=ResolveIn,
        response=IncidentOut,
    ),
    _e(
        "POST",
        "/incidents/{incident_id}/reopen",
        reopen,
        SUPPORT,
        "reopen a resolved incident",
        body=ReopenIn,
        response=IncidentOut,
    ),
    _e(
        "PUT",
        "/incidents/{incident_id}/postmortem",
        postmortem,
        SUPPORT,
        "add or edit the postmortem",
        body=PostmortemIn,
        response=IncidentOut,
    ),
    _e(
        "POST",
        "/incidents/{incident_id}/publish",
        publish,
        SUPPORT,
        "publish a draft incident",
        response=IncidentOut,
    ),
    _e(
        "GET",
        "/maintenances",
        list_maintenances,
        ANY_STAFF,
        "list maintenance, drafts included",
        query=MaintenanceQuery,
        response=list[MaintenanceOut],
    ),
    _e(
        "POST",
        "/maintenances",
        create_maintenance,
        SUPPORT,
        "schedule a maintenance",
        body=MaintenanceIn,
        response=MaintenanceOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/maintenances/{maintenance_id}",
        get_maintenance,
        ANY_STAFF,
        "read a maintenance",
        response=MaintenanceOut,
    ),
    _e(
        "PATCH",
        "/maintenances/{maintenance_id}",
        edit_maintenance,
        SUPPORT,
        "reschedule or edit a maintenance",
        body=MaintenancePatch,
        response=MaintenanceOut,
    ),
    _e(
        "POST",
        "/maintenances/{maintenance_id}/updates",
        post_maintenance_update,
        SUPPORT,
        "move a maintenance on (start, verify, complete) with a note",
        body=MaintenanceUpdateIn,
        response=MaintenanceOut,
        status_code=201,
    ),
    _e(
        "POST",
        "/maintenances/{maintenance_id}/cancel",
        cancel_maintenance,
        SUPPORT,
        "cancel a scheduled maintenance",
        body=MaintenanceCancelIn,
        response=MaintenanceOut,
    ),
    _e(
        "GET",
        "/audit",
        list_audit,
        ADMIN,
        "read the audit log (admins)",
        query=AuditQuery,
        response=list[AuditOut],
    ),
]
