"""The staff JSON API for maintenance: schedule, move on, cancel."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incidents import maintenance_flows, service
from incidents.common.staff import ANY_STAFF, SUPPORT
from incidents.models import Maintenance, MaintenanceStatus
from incidents.schemas import (
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenanceOut,
    MaintenancePatch,
    MaintenanceUpdateIn,
)
from statuspage.api.routing import Call, Endpoint, enum_values, tagged


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaintenanceQuery(_Query):
    status: str | None = Field(default=None, description="comma-separated maintenance statuses")
    include_drafts: bool = True
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: str | None) -> str | None:
        enum_values(value, MaintenanceStatus)
        return value


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


async def list_maintenances(call: Call) -> list[MaintenanceOut]:
    query: MaintenanceQuery = call.query
    items = await service.list_maintenances(
        call.session,
        statuses=enum_values(query.status, MaintenanceStatus),
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


_e = tagged

ENDPOINTS: list[Endpoint] = [
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
]
