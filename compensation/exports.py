"""Exports of a batch: its vouchers for the back office, and reconciliation per asset, as CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compensation import vouchers
from compensation.csv_out import csv_header, csv_row
from compensation.models import Voucher, VoucherState

PAGE = 5000
VOUCHER_COLUMNS = (
    "voucher_id",
    "code",
    "account_id",
    "asset",
    "amount",
    "state",
    "issued_at",
    "expires_at",
    "incident_id",
    "batch_id",
)


async def voucher_csv(
    sessions: async_sessionmaker[AsyncSession], *, batch_id: int
) -> AsyncIterator[str]:
    """The batch's vouchers in id order, a page per short read, never all in memory."""
    yield csv_header(VOUCHER_COLUMNS)
    after = 0
    while True:
        async with sessions() as session:
            page = await vouchers.voucher_export_page(
                session, batch_id=batch_id, after_id=after, limit=PAGE
            )
        if not page:
            return
        # The row's columns are VOUCHER_COLUMNS, in order; the state is an enum (its value).
        yield "".join([csv_row(row) for row in page])
        after = page[-1].id


@dataclass
class Tally:
    count: int = 0
    amount: Decimal = Decimal(0)

    def add(self, amount: Decimal) -> None:
        self.count += 1
        self.amount += amount


STATES = ("issued", "delivered", "redeemed", "voided", "expired", "outstanding")


async def reconciliation(
    session: AsyncSession, *, batch_id: int, now: datetime
) -> dict[str, dict[str, Tally]]:
    """Per asset: all issued, and how many are delivered, redeemed, voided, expired, and
    still outstanding (redeemable now). Redeemed and voided take precedence over delivered."""
    rows = await session.execute(
        select(
            Voucher.asset, Voucher.amount, Voucher.state, Voucher.delivered_at, Voucher.expires_at
        ).where(Voucher.batch_id == batch_id)
    )
    found: dict[str, dict[str, Tally]] = {}
    for asset, amount, state, delivered_at, expires_at in rows:
        tallies = found.setdefault(asset, {name: Tally() for name in STATES})
        tallies["issued"].add(amount)
        if delivered_at is not None:
            tallies["delivered"].add(amount)
        if state in {VoucherState.redeemed, VoucherState.voided}:
            tallies[state.value].add(amount)
        elif expires_at <= now:
            tallies["expired"].add(amount)
        else:
            tallies["outstanding"].add(amount)
    return dict(sorted(found.items()))


def reconciliation_csv(batch_id: int, found: dict[str, dict[str, Tally]]) -> str:
    names = ["batch_id", "asset"]
    for state in STATES:
        names += [f"{state}_count", f"{state}_amount"]
    lines = [csv_header(names)]
    for asset, tallies in found.items():
        values: list[object] = [batch_id, asset]
        for state in STATES:
            values += [tallies[state].count, tallies[state].amount]
        lines.append(csv_row(values))
    return "".join(lines)
