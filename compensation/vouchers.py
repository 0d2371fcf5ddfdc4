"""Every query of vouchers: by id, by the code a person typed, listed, paged for the export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from compensation import codes
from compensation.errors import InvalidInput, NotFound
from compensation.models import Voucher, VoucherState
from incidents.common.errors import N_


async def get_voucher(session: AsyncSession, *, voucher_id: int, lock: bool = False) -> Voucher:
    query = select(Voucher).where(Voucher.id == voucher_id)
    if lock:
        query = query.with_for_update()
    voucher = await session.scalar(query.execution_options(populate_existing=True))
    if voucher is None:
        raise NotFound(
            N_("voucher %(voucher_id)s does not exist"), field="voucher_id", voucher_id=voucher_id
        )
    return voucher


async def voucher_by_code(
    session: AsyncSession, *, code: str, batch_id: int | None = None, lock: bool = False
) -> Voucher:
    """The voucher a person typed the code of (normalized, its check character checked);
    with `batch_id`, only among that batch's."""
    query = select(Voucher).where(Voucher.code == codes.normalize(code))
    if batch_id is not None:
        query = query.where(Voucher.batch_id == batch_id)
    if lock:
        query = query.with_for_update()
    voucher = await session.scalar(query.execution_options(populate_existing=True))
    if voucher is None:
        scope = "of this batch " if batch_id is not None else ""
        raise InvalidInput(N_("no voucher %(scope)shas this code"), field="code", scope=scope)
    return voucher


async def list_vouchers(
    session: AsyncSession,
    *,
    account_id: str | None = None,
    batch_id: int | None = None,
    state: VoucherState | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[Voucher]:
    query = select(Voucher).order_by(Voucher.id).limit(limit)
    if account_id is not None:
        query = query.where(Voucher.account_id == account_id)
    if batch_id is not None:
        query = query.where(Voucher.batch_id == batch_id)
    if state is not None:
        query = query.where(Voucher.state == state)
    if after_id is not None:
        query = query.where(Voucher.id > after_id)
    return list((await session.scalars(query)).all())


async def voucher_export_page(
    session: AsyncSession, *, batch_id: int, after_id: int, limit: int
) -> list[Any]:
    """A page of a batch's vouchers as rows of the export's columns, in id order after
    `after_id` (rows, not ORM objects: loading 400,000 objects cost more than the query)."""
    query = (
        select(
            Voucher.id,
            Voucher.code,
            Voucher.account_id,
            Voucher.asset,
            Voucher.amount,
            Voucher.state,
            Voucher.issued_at,
            Voucher.expires_at,
            Voucher.incident_id,
            Voucher.batch_id,
        )
        .where(Voucher.batch_id == batch_id, Voucher.id > after_id)
        .order_by(Voucher.id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


def is_expired(voucher: Voucher, now: datetime) -> bool:
    return (
        voucher.state in {VoucherState.issued, VoucherState.delivered} and voucher.expires_at <= now
    )
