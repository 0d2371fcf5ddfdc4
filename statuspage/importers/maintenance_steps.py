"""A published maintenance, replayed through the maintenance flows at its own times."""

from __future__ import annotations

from incidents import maintenance_flows, rules, service
from incidents.common.db_types import utcnow
from incidents.common.errors import InvalidTransition
from incidents.models import MaintenanceStatus
from incidents.schemas import MaintenanceIn, MaintenanceUpdateIn
from statuspage.importers import records as source
from statuspage.importers.context import Context
from statuspage.importers.incident_steps import body_of


async def step_maintenance(
    context: Context, maintenance: source.Maintenance, component_ids: dict[str, int]
) -> None:
    ours = [component_ids[c] for c in maintenance.component_ids if c in component_ids]
    our_id = context.ledger.find("maintenance", maintenance.id)
    if our_id is None and not ours:
        context.report.note(
            f"maintenance {maintenance.name!r} left out: it names no component of the page"
        )
        return
    for update in maintenance.updates:
        if context.ledger.find("update", update.id) is not None:
            continue
        if our_id is None:
            our_id = await _create(context, maintenance, update, ours)
            if update.status == MaintenanceStatus.scheduled:
                continue
        await _move(context, maintenance, update, our_id)


async def _create(
    context: Context, maintenance: source.Maintenance, first: source.Update, ours: list[int]
) -> int:
    # A window already over is never started or completed again by our scheduler (which
    # would tell subscribers); what the source published says how it went.
    over = maintenance.scheduled_until <= utcnow()
    made = await maintenance_flows.create_maintenance(
        context.session,
        data=MaintenanceIn(
            name=maintenance.name[:200],
            body=body_of(first),
            scheduled_for=maintenance.scheduled_for,
            scheduled_until=maintenance.scheduled_until,
            component_ids=ours,
            notify=False,
            auto_start=maintenance.auto_start and not over,
            auto_complete=maintenance.auto_complete and not over,
            language=context.language,
        ),
        actor=context.actor(first.display_at),
    )
    context.ledger.remember("maintenance", maintenance.id, made.id)
    context.ledger.remember("update", first.id, made.updates[0].id)
    context.report.did("maintenances", f"maintenance {maintenance.name!r}")
    return made.id


async def _move(
    context: Context, maintenance: source.Maintenance, update: source.Update, our_id: int
) -> None:
    status = MaintenanceStatus(update.status)
    current = (await service.get_maintenance(context.session, maintenance_id=our_id)).status
    try:
        rules.check_maintenance_transition(current, status)
    except InvalidTransition:
        if current != MaintenanceStatus.scheduled or status not in _AFTER_START:
            context.report.note(
                f"maintenance {maintenance.name!r}: update {update.id}"
                f" ({current.value} to {status.value}) left out"
            )
            return
        # Statuspage may skip "in progress"; ours starts before it verifies or completes.
        await _post(context, our_id, MaintenanceStatus.in_progress, update)
    found = await _post(context, our_id, status, update)
    context.ledger.remember("update", update.id, max(found))


_AFTER_START = (MaintenanceStatus.verifying, MaintenanceStatus.completed)


async def _post(
    context: Context,
    our_id: int,
    status: MaintenanceStatus,
    update: source.Update,
) -> list[int]:
    done = await maintenance_flows.post_maintenance_update(
        context.session,
        maintenance_id=our_id,
        data=MaintenanceUpdateIn(
            status=status,
            body=body_of(update),
            display_at=update.display_at,
            notify=False,
            language=context.language,
        ),
        actor=context.actor(update.display_at),
    )
    return [row.id for row in done.updates]
