"""The platform redeems a voucher for the account it belongs to, once; a retry is answered again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from compensation import vouchers
from compensation.errors import RedemptionRefused
from compensation.models import Voucher, VoucherState
from incidents.common import audit


async def redeem(
    session: AsyncSession,
    *,
    code: str,
    account_id: str,
    reference: str,
    actor_id: int,
    now: datetime,
) -> Voucher:
    voucher = await vouchers.voucher_by_code(session, code=code, lock=True)
    if voucher.account_id != account_id:
        raise RedemptionRefused(
            "this voucher belongs to another account", code="wrong_account", field="account_id"
        )
    if voucher.state == VoucherState.redeemed:
        if voucher.redemption_ref == reference:
            return voucher  # the platform retried: same answer, nothing new
        raise RedemptionRefused(
            f"this voucher was already redeemed at {voucher.redeemed_at:%Y-%m-%d %H:%M} UTC",
            code="already_redeemed",
        )
    if voucher.state == VoucherState.voided:
        raise RedemptionRefused(f"this voucher was voided: {voucher.void_reason}", code="voided")
    if vouchers.is_expired(voucher, now):
        raise RedemptionRefused(
            f"this voucher expired at {voucher.expires_at:%Y-%m-%d %H:%M} UTC", code="expired"
        )
    before = voucher.state
    voucher.state, voucher.redeemed_at, voucher.redemption_ref = (
        VoucherState.redeemed,
        now,
        reference,
    )
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.voucher.redeem",
        entity_type="voucher",
        entity_id=voucher.id,
        before={"state": before.value},
        after={"state": voucher.state.value, "account_id": account_id, "reference": reference},
    )
    return voucher
