"""Where a batch's contents came from: who prepared it (four eyes keeps them from approving
it) and which events it has summed (so the same event sent again is not summed twice)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from compensation.errors import Conflict
from compensation.models import BatchContributor, Contribution, EventIdentity
from incidents.common.errors import N_

# -- who prepared a batch -------------------------------------------------------------------


async def add_contributor(
    session: AsyncSession, *, batch_id: int, staff_id: int, contribution: Contribution
) -> None:
    """Records that `staff_id` did this to the batch (once; the caller holds the batch's lock,
    so two requests never both add it)."""
    key = (batch_id, staff_id, contribution)
    if await session.get(BatchContributor, key) is None:
        session.add(
            BatchContributor(batch_id=batch_id, staff_id=staff_id, contribution=contribution)
        )
        await session.flush()


async def contributions(
    session: AsyncSession, *, batch_id: int, staff_id: int
) -> set[Contribution]:
    """What one person did to prepare the batch: four eyes refuses them its approval."""
    found = await session.scalars(
        select(BatchContributor.contribution).where(
            BatchContributor.batch_id == batch_id, BatchContributor.staff_id == staff_id
        )
    )
    return set(found)


# -- the events a batch has summed ----------------------------------------------------------


async def event_identities(session: AsyncSession, *, batch_id: int) -> frozenset[bytes]:
    found = await session.scalars(
        select(EventIdentity.identity).where(EventIdentity.batch_id == batch_id)
    )
    return frozenset(found)


async def add_event_identities(
    session: AsyncSession, *, batch_id: int, source: int, lines: Mapping[bytes, int]
) -> None:
    """The events one intake summed (identity -> line), as the batch's `source`-th source. An
    identity the batch already has means another intake took that event while this one was
    read: refused (the caller's transaction rolls back), to be sent again."""
    connection = await session.connection()
    # Half a million rows for a million events, so straight to the driver: on PostgreSQL one
    # statement per 50,000 (arrays unnested), on SQLite its executemany. A Core insert's
    # per-row parameter processing would cost three times as much.
    postgres = connection.dialect.name == "postgresql"
    chunk = 50_000 if postgres else 5000
    items = list(lines.items())
    try:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            if postgres:
                identities, numbers = [key for key, _ in part], [line for _, line in part]
                await connection.exec_driver_sql(_UNNEST, (batch_id, identities, source, numbers))
            else:
                rows = [(batch_id, key, source, line) for key, line in part]
                await connection.exec_driver_sql(_EXECUTEMANY, rows)
    except IntegrityError as error:
        raise Conflict(
            N_(
                "another intake took some of these events into batch %(batch_id)s while this one "
                "was read; send it again (those events will be reported as repeated)"
            ),
            field="file",
            batch_id=batch_id,
        ) from error


_EXECUTEMANY = (
    "INSERT INTO compensation_event_identities (batch_id, identity, source, line) "
    "VALUES (?, ?, ?, ?)"
)
_UNNEST = (
    "INSERT INTO compensation_event_identities (batch_id, identity, source, line) "
    "SELECT $1, identity, $3, line"
    " FROM unnest($2::bytea[], $4::integer[]) AS given (identity, line)"
)


async def first_seen(
    session: AsyncSession, *, batch_id: int, identities: Iterable[bytes]
) -> dict[bytes, tuple[int, int]]:
    """Where the batch first took each of these events: (source, line)."""
    wanted = list(set(identities))
    found: dict[bytes, tuple[int, int]] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(EventIdentity.identity, EventIdentity.source, EventIdentity.line).where(
                EventIdentity.batch_id == batch_id,
                EventIdentity.identity.in_(wanted[start : start + 500]),
            )
        )
        found.update({row[0]: (row[1], row[2]) for row in rows})
    return found


async def forget_events(session: AsyncSession, *, batch_id: int) -> None:
    await session.execute(delete(EventIdentity).where(EventIdentity.batch_id == batch_id))
