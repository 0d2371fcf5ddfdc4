"""What a correction of an incident (a component taken off it) does to its compensation: the
statuspage layer runs this in the correction's own transaction, before the incident changes.
A batch already approved or issued pays what its lines say, computed from the impact windows
at intake: the correction is refused while one stands. A draft with events loaded is marked
stale: it is cleared and loaded again before it is approved."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from compensation import rules, service
from compensation.errors import N_, Conflict
from compensation.models import Batch, BatchState
from incidents import service as incident_service
from incidents.common import audit

_OPEN = frozenset({BatchState.draft, BatchState.cancelled})


async def before_correction(
    session: AsyncSession, *, incident_id: int, actor_id: int | None, reopening: bool = False
) -> None:
    """Each batch of the incident is locked (an approval waits, then sees the draft stale;
    an approval that came first makes the correction wait, then refuses it)."""
    # The incident first: an intake committing now waits, then sees the windows changed.
    await incident_service.lock_incident(session, incident_id=incident_id)
    # Every batch of the incident, not a page of them: an old approved one refuses too.
    ids = await session.scalars(
        select(Batch.id).where(Batch.incident_id == incident_id).order_by(Batch.id)
    )
    for batch_id in list(ids):
        batch = await service.get_batch(session, batch_id=batch_id, lock=True)
        if batch.state not in _OPEN and reopening:  # its windows would run on past the payout
            raise Conflict(
                N_(
                    "batch %(id)s of this incident is %(state)s: it pays what was computed "
                    "before, so the incident cannot be reopened; open a new incident instead"
                ),
                id=batch.id,
                state=batch.state.value,
            )
        if batch.state not in _OPEN:
            raise Conflict(
                N_(
                    "batch %(id)s of this incident is %(state)s: it pays what was computed "
                    "before, so the incident's components can no longer be corrected"
                ),
                field="component_id",
                id=batch.id,
                state=batch.state.value,
            )
        loaded = batch.intake.get("sources") or batch.intake.get("accepted")
        if batch.state == BatchState.draft and loaded and not batch.intake.get(rules.STALE):
            before = dict(batch.intake)
            batch.intake = {**batch.intake, rules.STALE: True}
            await audit.record(
                session,
                actor_id=actor_id,
                action="compensation.batch.stale",
                entity_type="compensation_batch",
                entity_id=batch.id,
                before=before,
                after=dict(batch.intake),
            )
