"""What a correction of an incident (a component taken off it) does to its compensation: the
statuspage layer runs this in the correction's own transaction, before the incident changes.
A batch already approved or issued pays what its lines say, computed from the impact windows
at intake: the correction is refused while one stands. A draft with events loaded is marked
stale: it is cleared and loaded again before it is approved."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from compensation import rules, service
from compensation.errors import N_, Conflict
from compensation.models import BatchState
from incidents.common import audit

_OPEN = frozenset({BatchState.draft, BatchState.cancelled})


async def before_correction(
    session: AsyncSession, *, incident_id: int, actor_id: int | None
) -> None:
    """Each batch of the incident is locked (an approval waits, then sees the draft stale;
    an approval that came first makes the correction wait, then refuses it)."""
    listed = await service.list_batches(session, incident_id=incident_id)
    for found in sorted(listed, key=lambda batch: batch.id):
        batch = await service.get_batch(session, batch_id=found.id, lock=True)
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
