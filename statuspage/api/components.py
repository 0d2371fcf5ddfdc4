"""The staff JSON API for the page's structure: component groups and components."""

from __future__ import annotations

from incidents import component_flows, service
from incidents.common.staff import ANY_STAFF, SUPPORT
from incidents.models import Component, ComponentGroup
from incidents.schemas import (
    ComponentIn,
    ComponentOut,
    ComponentPatch,
    GroupIn,
    GroupOut,
    GroupPatch,
    ReorderIn,
)
from statuspage.api.routing import Call, Endpoint, tagged


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


_e = tagged

ENDPOINTS: list[Endpoint] = [
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
]
