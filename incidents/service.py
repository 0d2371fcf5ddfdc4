"""Every query and write of the incident domain; the caller owns the transaction."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from incidents import rules
from incidents.common.errors import N_, InvalidInput, NotFound
from incidents.component_choice import ComponentChoice
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    Direction,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Indicator,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)

_SHORTLINK_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to read aloud


def new_shortlink() -> str:
    return "".join(secrets.choice(_SHORTLINK_ALPHABET) for _ in range(10))


# -- components and groups ----------------------------------------------------------------


async def list_groups(session: AsyncSession) -> list[ComponentGroup]:
    query = select(ComponentGroup).order_by(ComponentGroup.position, ComponentGroup.id)
    return list((await session.scalars(query)).all())


async def get_group(session: AsyncSession, *, group_id: int) -> ComponentGroup:
    group = await session.get(ComponentGroup, group_id)
    if group is None:
        raise NotFound(
            N_("component group %(group_id)s does not exist"), field="group_id", group_id=group_id
        )
    return group


async def list_components(session: AsyncSession) -> list[Component]:
    query = select(Component).order_by(Component.position, Component.id)
    return list((await session.scalars(query)).all())


async def get_component(session: AsyncSession, *, component_id: int) -> Component:
    component = await session.get(Component, component_id)
    if component is None:
        raise NotFound(
            N_("component %(component_id)s does not exist"),
            field="component_id",
            component_id=component_id,
        )
    return component


async def network_component(
    session: AsyncSession, *, asset: str | None, network: str | None, direction: Direction
) -> Component | None:
    """The component standing for this asset's deposits or withdrawals on this network."""
    with session.no_autoflush:
        return await session.scalar(
            select(Component).where(
                Component.asset == asset,
                Component.network == network,
                Component.direction == direction,
            )
        )


async def components_by_id(
    session: AsyncSession, *, ids: Sequence[int], field: str
) -> dict[int, Component]:
    """The named components, or a 422 naming the first unknown id under `field`."""
    if not ids:
        return {}
    query = select(Component).where(Component.id.in_(set(ids)))
    found = {component.id: component for component in (await session.scalars(query)).all()}
    for component_id in ids:
        if component_id not in found:
            raise InvalidInput(
                N_("component %(component_id)s does not exist"),
                field=f"{field}.{component_id}",
                component_id=component_id,
            )
    return found


async def components_chosen(session: AsyncSession, *, choice: ComponentChoice) -> list[Component]:
    """The components named by id, and every one standing for a chosen network or asset (in
    `direction` only, when given), each once; a network or asset nothing stands for is a 422."""
    found = dict(await components_by_id(session, ids=choice.component_ids, field="component_ids"))
    for field, column, wanted in (
        ("networks", Component.network, choice.networks),
        ("assets", Component.asset, choice.assets),
    ):
        for name in wanted:
            query = select(Component).where(func.lower(column) == name.lower())
            if choice.direction is not None:
                query = query.where(Component.direction == choice.direction)
            matched = list(await session.scalars(query))
            if not matched:
                raise InvalidInput(N_("no component stands for %(name)s"), field=field, name=name)
            found.update((component.id, component) for component in matched)
    return sorted(found.values(), key=lambda component: (component.position, component.id))


async def next_position(session: AsyncSession, *, model: type[Component | ComponentGroup]) -> int:
    highest = await session.scalar(select(func.max(model.position)))
    return 0 if highest is None else highest + 1


# -- incidents ----------------------------------------------------------------------------


def incident_load_options() -> tuple[ExecutableOption, ...]:
    """What reading an incident needs: its components, updates and their component changes."""
    return (
        selectinload(Incident.components),
        selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes),
    )


async def get_incident(session: AsyncSession, *, incident_id: int) -> Incident:
    query = (
        select(Incident)
        .where(Incident.id == incident_id)
        .options(*incident_load_options())
        .execution_options(populate_existing=True)
    )
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound(
            N_("incident %(incident_id)s does not exist"),
            field="incident_id",
            incident_id=incident_id,
        )
    return incident


async def lock_incident(session: AsyncSession, *, incident_id: int, shared: bool = False) -> None:
    """The incident's row locked until the transaction ends (PostgreSQL; SQLite's writes are
    serial already): a correction takes it exclusively before it touches the incident's
    batches, an intake's commit shared, so neither reads windows the other is changing."""
    await session.execute(
        select(Incident.id).where(Incident.id == incident_id).with_for_update(read=shared)
    )


async def list_incidents(
    session: AsyncSession,
    *,
    statuses: Collection[IncidentStatus] | None = None,
    include_drafts: bool = True,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Incident]:
    query = (
        select(Incident)
        .options(*incident_load_options())
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(Incident.status.in_(statuses))
    if not include_drafts:
        query = query.where(Incident.draft.is_(False))
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list((await session.scalars(query)).all())


async def get_update(session: AsyncSession, *, incident_id: int, update_id: int) -> IncidentUpdate:
    update = await session.scalar(
        select(IncidentUpdate).where(
            IncidentUpdate.id == update_id, IncidentUpdate.incident_id == incident_id
        )
    )
    if update is None:
        raise NotFound(
            N_("update %(update_id)s of incident %(incident_id)s does not exist"),
            field="update_id",
            update_id=update_id,
            incident_id=incident_id,
        )
    return update


def status_changes(incident: Incident) -> list[rules.StatusChange]:
    """The incident's component changes as the rules see them, in display order."""
    return [
        rules.StatusChange(
            at=update.display_at,
            component_id=change.component_id,
            status=change.new_status,
            order=update.id,
        )
        for update in incident.updates
        for change in update.component_changes
    ]


def impact_windows(incident: Incident) -> dict[int, list[rules.ImpactWindow]]:
    return rules.impact_windows(status_changes(incident), resolved_at=incident.resolved_at)


# -- maintenance --------------------------------------------------------------------------


def maintenance_load_options() -> tuple[ExecutableOption, ...]:
    return (selectinload(Maintenance.components), selectinload(Maintenance.updates))


async def get_maintenance(session: AsyncSession, *, maintenance_id: int) -> Maintenance:
    query = (
        select(Maintenance)
        .where(Maintenance.id == maintenance_id)
        .options(*maintenance_load_options())
        .execution_options(populate_existing=True)
    )
    maintenance = await session.scalar(query)
    if maintenance is None:
        raise NotFound(
            N_("maintenance %(maintenance_id)s does not exist"),
            field="maintenance_id",
            maintenance_id=maintenance_id,
        )
    return maintenance


async def list_maintenances(
    session: AsyncSession,
    *,
    statuses: Sequence[MaintenanceStatus] | None = None,
    include_drafts: bool = True,
    limit: int = 50,
) -> list[Maintenance]:
    query = (
        select(Maintenance)
        .options(*maintenance_load_options())
        .order_by(Maintenance.scheduled_for.desc(), Maintenance.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(Maintenance.status.in_(statuses))
    if not include_drafts:
        query = query.where(Maintenance.draft.is_(False))
    return list((await session.scalars(query)).all())


def add_maintenance_update(
    maintenance: Maintenance,
    *,
    status: MaintenanceStatus,
    body: str,
    language: str,
    translations: dict[str, dict[str, str]],
    display_at: datetime,
    notify: bool,
    author_id: int | None,
) -> MaintenanceUpdate:
    update = MaintenanceUpdate(
        status=status,
        body=body,
        language=language,
        translations=translations,
        display_at=display_at,
        notify=notify,
        author_id=author_id,
    )
    maintenance.updates.append(update)
    return update


# -- derived component statuses -----------------------------------------------------------


async def recompute_component_statuses(session: AsyncSession) -> list[Component]:
    """Set every component's shown status from the rules; returns those that changed."""
    await session.flush()
    open_incidents = await session.scalars(
        select(Incident)
        .where(Incident.status.in_(rules.OPEN_INCIDENT_STATUSES), Incident.draft.is_(False))
        .options(selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes))
    )
    from_incidents: dict[int, list[ComponentStatus]] = {}
    for incident in open_incidents.all():
        for component_id, status in rules.latest_component_statuses(
            status_changes(incident)
        ).items():
            from_incidents.setdefault(component_id, []).append(status)
    active = await session.scalars(
        select(Maintenance)
        .where(
            Maintenance.status.in_(rules.ACTIVE_MAINTENANCE_STATUSES),
            Maintenance.draft.is_(False),
        )
        .options(selectinload(Maintenance.components))
    )
    in_maintenance = {component.id for item in active.all() for component in item.components}
    changed = []
    for component in await list_components(session):
        derived = rules.derive_component_status(
            manual=component.manual_status,
            from_open_incidents=from_incidents.get(component.id, []),
            in_active_maintenance=component.id in in_maintenance,
        )
        if derived != component.status:
            component.status = derived
            changed.append(component)
    await session.flush()
    return changed


def check_translations(
    translations: Mapping[str, object], *, own_language: str, field: str = "translations"
) -> None:
    if own_language in translations:
        raise InvalidInput(
            N_("%(own_language)s is the text's own language; give it in the main fields"),
            field=f"{field}.{own_language}",
            own_language=own_language,
        )


async def current_indicator(session: AsyncSession) -> Indicator:
    """The page's overall indicator from open published incidents, components, maintenance."""
    impacts = await session.scalars(
        select(Incident.impact).where(
            Incident.status.in_(rules.OPEN_INCIDENT_STATUSES), Incident.draft.is_(False)
        )
    )
    maintenance_count = await session.scalar(
        select(func.count())
        .select_from(Maintenance)
        .where(
            Maintenance.status.in_(rules.ACTIVE_MAINTENANCE_STATUSES),
            Maintenance.draft.is_(False),
        )
    )
    return rules.page_indicator(
        open_incident_impacts=list(impacts.all()),
        component_statuses=[component.status for component in await list_components(session)],
        maintenance_in_progress=bool(maintenance_count),
    )
