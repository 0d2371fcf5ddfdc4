"""Creating, editing and ordering components and their groups, each write audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, Invalid, InvalidInput
from incidents.common.snapshots import snapshot
from incidents.models import Component, ComponentGroup, ComponentStatus
from incidents.networks import check_network_fields
from incidents.schemas import (
    ComponentIn,
    ComponentPatch,
    GroupIn,
    GroupPatch,
    ReorderIn,
)


async def create_group(session: AsyncSession, *, data: GroupIn, actor: Actor) -> ComponentGroup:
    position = data.position
    if position is None:
        position = await service.next_position(session, model=ComponentGroup)
    group = ComponentGroup(
        name=data.name,
        description=data.description,
        position=position,
        translations=_texts(data.translations),
    )
    session.add(group)
    await session.flush()
    await _audit(session, actor, "group.create", group, None)
    return group


async def edit_group(
    session: AsyncSession, *, group_id: int, data: GroupPatch, actor: Actor
) -> ComponentGroup:
    group = await service.get_group(session, group_id=group_id)
    before = snapshot(group)
    for name in ("name", "description", "position"):
        if getattr(data, name) is not None:
            setattr(group, name, getattr(data, name))
    if data.translations is not None:
        group.translations = _texts(data.translations)
    await session.flush()
    await _audit(session, actor, "group.edit", group, before)
    return group


async def create_component(session: AsyncSession, *, data: ComponentIn, actor: Actor) -> Component:
    if data.group_id is not None:
        await service.get_group(session, group_id=data.group_id)
    position = data.position
    if position is None:
        position = await service.next_position(session, model=Component)
    component = Component(
        name=data.name,
        description=data.description,
        group_id=data.group_id,
        position=position,
        showcase=data.showcase,
        hidden=data.hidden,
        translations=_texts(data.translations),
        asset=data.asset,
        network=data.network,
        direction=data.direction,
    )
    await _check_network_free(session, component)
    session.add(component)
    await session.flush()
    await _audit(session, actor, "component.create", component, None)
    return component


async def edit_component(
    session: AsyncSession, *, component_id: int, data: ComponentPatch, actor: Actor
) -> Component:
    component = await service.get_component(session, component_id=component_id)
    before = snapshot(component)
    sent = data.model_fields_set
    if "group_id" in sent:
        if data.group_id is not None:
            await service.get_group(session, group_id=data.group_id)
        component.group_id = data.group_id
    for name in ("name", "description", "position", "showcase", "hidden"):
        if getattr(data, name) is not None:
            setattr(component, name, getattr(data, name))
    if data.status is not None:
        component.manual_status = data.status
    if data.reason is not None or data.status == ComponentStatus.operational:
        # Back to operational by hand, the reason goes with the suspension it explained.
        component.manual_reason = (
            None if data.status == ComponentStatus.operational else data.reason
        )
    if data.translations is not None:
        component.translations = _texts(data.translations)
    await _set_network(session, component, data)
    await service.recompute_component_statuses(session)
    await _audit(session, actor, "component.edit", component, before)
    return component


async def _set_network(session: AsyncSession, component: Component, data: ComponentPatch) -> None:
    sent = {"asset", "network", "direction"} & data.model_fields_set
    if not sent:
        return
    for name in sent:
        setattr(component, name, getattr(data, name))
    try:
        check_network_fields(component.asset, component.network, component.direction)
    except Invalid as error:  # the same words, said in the console's language too
        field = str(error).partition(":")[0]
        raise InvalidInput(error.template, field=field, **error.params) from None
    await _check_network_free(session, component)


async def _check_network_free(session: AsyncSession, component: Component) -> None:
    """One component per asset, network and direction: two would be two sources of truth."""
    if component.direction is None:
        return
    taken = await service.network_component(
        session, asset=component.asset, network=component.network, direction=component.direction
    )
    if taken is not None and taken is not component:
        raise Conflict(
            N_("component %(id)s already stands for %(asset)s on %(network)s %(direction)ss"),
            field="asset",
            id=taken.id,
            asset=component.asset,
            network=component.network,
            direction=component.direction.value,
        )


async def reorder(
    session: AsyncSession,
    *,
    model: type[Component] | type[ComponentGroup],
    data: ReorderIn,
    actor: Actor,
) -> None:
    """Gives the listed rows positions 0, 1, 2… in the order given."""
    kind = "component" if model is Component else "group"
    rows = {row.id: row for row in await _all(session, model)}
    for row_id in data.ids:
        if row_id not in rows:
            raise InvalidInput(
                N_("%(kind)s %(row_id)s does not exist"),
                field=f"ids.{row_id}",
                kind=kind,
                row_id=row_id,
            )
    before = {"order": [row.id for row in sorted(rows.values(), key=lambda r: r.position)]}
    for position, row_id in enumerate(data.ids):
        rows[row_id].position = position
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action=f"{kind}.reorder",
        entity_type=kind,
        entity_id=None,
        before=before,
        after={"order": list(data.ids)},
    )


async def _all(
    session: AsyncSession, model: type[Component] | type[ComponentGroup]
) -> list[Component] | list[ComponentGroup]:
    if model is Component:
        return await service.list_components(session)
    return await service.list_groups(session)


def _texts(translations: Mapping[str, BaseModel]) -> dict[str, Any]:
    return {lang: text.model_dump(exclude_none=True) for lang, text in translations.items()}


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    row: Component | ComponentGroup,
    before: dict[str, object] | None,
) -> None:
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action=action,
        entity_type=action.split(".")[0],
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
