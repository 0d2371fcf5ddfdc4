"""An upload held open: planned and summed as a long upload is, committed when a test says,
so a test can land another change (an intake, a clear, a correction) in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from compensation import intake, intake_flows
from compensation.events import AccountEvent, Rejection
from statuspage.db import Database


async def _events(text: str) -> AsyncIterator[list[AccountEvent | Rejection]]:
    async def chunks() -> AsyncIterator[bytes]:
        yield text.encode()

    async for batch in intake.read_event_batches(chunks(), format=intake.IntakeFormat.csv):
        yield batch


async def planned(database: Database, batch_id: int, text: str) -> Any:
    """The plan (read in its own short transaction) and the events summed against it."""
    plan = await database.read(
        lambda session: intake_flows.plan_intake(session, batch_id=batch_id, identities=True)
    )
    return plan, await intake_flows.collect(plan, _events(text), intake_flows.Collected())


async def commit(database: Database, plan: Any, collected: Any, staff_id: int) -> Any:
    return await database.write(
        lambda session: intake_flows.commit_intake(
            session,
            plan=plan,
            collected=collected,
            source="slow.csv",
            digest=None,
            actor_id=staff_id,
        )
    )
