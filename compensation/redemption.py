"""The platform redeems a voucher for the account it belongs to, once; a retry is answered again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from compensation import vouchers
from compensation.errors import RedemptionRefused
from compensation.models import Voucher, VoucherState
from incidents.common import audit
from incidents.common.errors import N_


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
            N_("this voucher belongs to another account"), code="wrong_account", field="account_id"
        )
    if voucher.state == VoucherState.redeemed:
        if voucher.redemption_ref == reference:
            return voucher  # the platform retried: same answer, nothing new
        raise RedemptionRefused(
            N_("this voucher was already redeemed at %(at)s UTC"),
            code="already_redeemed",
            at=f"{voucher.redeemed_at:%Y-%m-%d %H:%M}",
        )
    if voucher.state == VoucherState.voided:
        raise RedemptionRefused(
            N_("this voucher was voided: %(void_reason)s"),
            code="voided",
            void_reason=voucher.void_reason,
        )
    if vouchers.is_expired(voucher, now):
        raise RedemptionRefused(
            N_("this voucher expired at %(at)s UTC"),
            code="expired",
            at=f"{voucher.expires_at:%Y-%m-%d %H:%M}",
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
