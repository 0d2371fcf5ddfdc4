"""Issuing an approved batch: vouchers exactly once per (incident, policy, account, asset).

The batch turns `issuing` first, then vouchers are written in chunks, each chunk in its own
transaction together with its outbox rows for the platform's credit API. A crash between
chunks leaves a batch that says `issuing`; issuing it again resumes where it stopped, and the
unique key on vouchers makes a repeat, a double click or a second process add nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, exists, insert, not_, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compensation import rules, service
from compensation.codes import new_codes
from compensation.models import (
    Batch,
    BatchLine,
    BatchState,
    CreditDelivery,
    LineNote,
    Voucher,
)
from incidents.common import audit
from incidents.common.db_types import utcnow

log = logging.getLogger(__name__)

CHUNK = 2000  # vouchers written and committed together, by default
ANALYZE_AFTER = 10 * CHUNK  # vouchers issued in one batch, before statistics are refreshed
_UNIQUE = ["incident_id", "policy_id", "account_id", "asset"]
# Lines that pay something; the others (excluded, below the minimum) pay zero.
_PAID = (LineNote.payable, LineNote.capped)

_VOUCHERS = cast(Table, Voucher.__table__)
_CREDITS = cast(Table, CreditDelivery.__table__)

# Called between chunks; tests use it to stop a process at a chosen point.
ChunkHook = Callable[[int], Awaitable[None]]


async def issue(
    sessions: async_sessionmaker[AsyncSession],
    *,
    batch_id: int,
    actor_id: int,
    credit: bool,
    now: Callable[[], datetime] = utcnow,
    after_chunk: ChunkHook | None = None,
    chunk: int = CHUNK,
) -> Batch:
    """Issues (or resumes issuing) a batch and returns it issued. Idempotent."""
    async with sessions() as session, session.begin():
        batch = await service.get_batch(session, batch_id=batch_id, lock=True)
        if batch.state in {BatchState.issued, BatchState.delivered}:
            return batch
        rules.check_batch_transition(batch.state, BatchState.issuing)
        if batch.state == BatchState.approved:
            batch.state = BatchState.issuing
            await audit.record(
                session,
                actor_id=actor_id,
                action="compensation.batch.issue_started",
                entity_type="compensation_batch",
                entity_id=batch.id,
                after={"state": batch.state.value},
            )
    cursor: tuple[str, str] | None = None
    written = 0
    while True:
        async with sessions() as session, session.begin():
            batch = await service.get_batch(session, batch_id=batch_id, lock=True)
            if batch.state != BatchState.issuing:
                return batch  # another request finished it meanwhile
            lines = await _next_lines(session, batch, cursor, chunk)
            if not lines:
                finished, vouchers = await _finish(session, batch, actor_id=actor_id, at=now())
                break
            await _write_vouchers(session, batch, lines, credit=credit, at=now())
            cursor = (lines[-1].account_id, lines[-1].asset)
            written += len(lines)
        if after_chunk is not None:
            await after_chunk(written)
    if vouchers >= ANALYZE_AFTER:
        await _refresh_statistics(sessions)
    return finished


async def _refresh_statistics(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fresh planner statistics for the vouchers (the exports and reconciliation read them
    next), after the issue committed: its own transaction, which gives up rather than wait
    long for a lock (an autovacuum's), since autovacuum will get there anyway."""
    try:
        async with sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(text("SET LOCAL lock_timeout = '2s'"))
            await service.analyze(session, _VOUCHERS.name)
    except Exception:
        log.warning("vouchers: statistics not refreshed after an issue", exc_info=True)


async def _next_lines(
    session: AsyncSession, batch: Batch, cursor: tuple[str, str] | None, chunk: int
) -> list[Any]:
    """Payable lines that hold no voucher yet, in key order after the cursor."""
    same_key = and_(
        Voucher.incident_id == batch.incident_id,
        Voucher.policy_id == batch.policy_id,
        Voucher.account_id == BatchLine.account_id,
        Voucher.asset == BatchLine.asset,
    )
    if cursor is not None:
        # Implied by the cursor, said again so the vouchers behind it are never read: without
        # it a plan that scans vouchers per chunk costs O(vouchers issued so far) each time.
        same_key = and_(same_key, Voucher.account_id >= cursor[0])
    taken = exists().where(same_key)
    query = (
        select(BatchLine.account_id, BatchLine.asset, BatchLine.amount, BatchLine.note)
        .where(BatchLine.batch_id == batch.id, BatchLine.note.in_(_PAID), not_(taken))
        .order_by(BatchLine.account_id, BatchLine.asset)
        .limit(chunk)
    )
    if cursor is not None:
        query = query.where(tuple_(BatchLine.account_id, BatchLine.asset) > tuple_(*cursor))
    return list((await session.execute(query)).all())


async def _write_vouchers(
    session: AsyncSession, batch: Batch, lines: list[Any], *, credit: bool, at: datetime
) -> None:
    payable = lines
    expires = at + timedelta(days=int(batch.rules.get("validity_days", 90)))
    rows = [
        {
            "code": code,
            "batch_id": batch.id,
            "incident_id": batch.incident_id,
            "policy_id": batch.policy_id,
            "account_id": line.account_id,
            "asset": line.asset,
            "amount": line.amount,
            "issued_at": at,
            "expires_at": expires,
        }
        for line, code in zip(payable, new_codes(len(payable)), strict=True)
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # Core, not ORM, insert: the same rows without the ORM's per-row bookkeeping. RETURNING
    # gives the vouchers this statement wrote (not those another issuer wrote first), so the
    # outbox rows need no search: searching vouchers by account cost a scan of the batch's
    # vouchers per chunk (SQLite always, PostgreSQL without fresh statistics).
    statement = (
        dialect.insert(_VOUCHERS)
        .on_conflict_do_nothing(index_elements=_UNIQUE)
        .returning(_VOUCHERS.c.id)
    )
    written = (await session.execute(statement, rows)).scalars().all()
    if credit and written:
        await session.execute(
            insert(_CREDITS), [{"voucher_id": id_, "next_attempt_at": at} for id_ in written]
        )


async def _finish(
    session: AsyncSession, batch: Batch, *, actor_id: int, at: datetime
) -> tuple[Batch, int]:
    """Marks the batch issued; returns it and how many vouchers it has."""
    rows = (
        await session.execute(
            select(Voucher.asset, Voucher.amount).where(Voucher.batch_id == batch.id)
        )
    ).all()
    issued = rules.totals(((row.asset, row.amount) for row in rows), {})
    batch.state, batch.issued_at = BatchState.issued, at
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.issue",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before={"state": BatchState.issuing.value},
        after={"state": batch.state.value, "issued": service.totals_json(issued)},
    )
    return batch, len(rows)
