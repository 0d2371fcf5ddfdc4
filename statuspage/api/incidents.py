"""The staff JSON API under /api/staff/: who calls, incidents and the audit log; and the table
of the incident domain's endpoints, with the components' and maintenance's from their modules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from compensation import corrections
from incidents import flows, service
from incidents.common import audit
from incidents.common.staff import ADMIN, ANY_STAFF, SUPPORT, StaffRole
from incidents.models import Incident, IncidentStatus
from incidents.schemas import (
    AuditOut,
    ComponentCorrectionIn,
    ImpactWindowOut,
    IncidentOpen,
    IncidentOut,
    IncidentPatch,
    PostmortemIn,
    ReopenIn,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
    UpdateOut,
)
from statuspage.api import components, maintenance_series, maintenances
from statuspage.api.routing import Call, Endpoint, enum_values, tagged

# -- query shapes -------------------------------------------------------------------------


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentQuery(_Query):
    status: str | None = Field(default=None, description="comma-separated incident statuses")
    include_drafts: bool = True
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: str | None) -> str | None:
        enum_values(value, IncidentStatus)
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


# -- handlers -----------------------------------------------------------------------------


async def me(call: Call) -> MeOut:
    principal = call.principal
    return MeOut(staff_id=principal.staff_id, email=principal.email, role=principal.role)


async def list_incidents(call: Call) -> list[IncidentOut]:
    query: IncidentQuery = call.query
    incidents = await service.list_incidents(
        call.session,
        statuses=enum_values(query.status, IncidentStatus),
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


async def remove_component(call: Call) -> IncidentOut:
    """A correction; compensation follows it (refused while a batch stands approved)."""
    await corrections.before_correction(
        call.session, incident_id=call.path["incident_id"], actor_id=call.actor().staff_id
    )
    incident = await flows.remove_component(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def resolve(call: Call) -> IncidentOut:
    incident = await flows.resolve_incident(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return incident_out(incident)


async def reopen(call: Call) -> IncidentOut:
    """Reopening lengthens the impact windows: compensation is asked first, as for a
    correction (refused while a batch stands approved; a loaded draft goes stale)."""
    await corrections.before_correction(
        call.session,
        incident_id=call.path["incident_id"],
        actor_id=call.actor().staff_id,
        reopening=True,
    )
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


async def list_audit(call: Call) -> list[AuditOut]:
    query: AuditQuery = call.query
    entries = await audit.list_entries(call.session, **query.model_dump(exclude_none=True))
    return [AuditOut.model_validate(entry) for entry in entries]


_e = tagged

ENDPOINTS: list[Endpoint] = [
    _e("GET", "/me", me, ANY_STAFF, "who the token belongs to", response=MeOut),
    *components.ENDPOINTS,
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
        "/incidents/{incident_id}/corrections",
        remove_component,
        SUPPORT,
        "take a component listed by mistake off the incident, with its statuses and impact"
        " windows; the correction shows on the timeline",
        body=ComponentCorrectionIn,
        response=IncidentOut,
        status_code=201,
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
    *maintenances.ENDPOINTS,
    *maintenance_series.ENDPOINTS,
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
