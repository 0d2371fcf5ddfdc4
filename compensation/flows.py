"""A batch's life after intake: policy refresh, approval, cancel, void, delivery (taking its
events in is `intake_flows`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from compensation import provenance, rules, service, vouchers
from compensation.errors import BudgetExceeded, Conflict, FourEyes, InvalidTransition
from compensation.models import (
    Batch,
    BatchState,
    Contribution,
    CreditDelivery,
    CreditState,
    Voucher,
    VoucherState,
)
from incidents.common import audit
from incidents.common.db_types import utcnow
from incidents.common.errors import N_

# -- the policy of a draft ----------------------------------------------------------------


async def refresh_policy(session: AsyncSession, *, batch_id: int, actor_id: int) -> Batch:
    """Takes the policy's newest version into a draft and prices its lines again."""
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    rules.check_editable(batch.state)
    policy = await service.get_policy(session, policy_id=batch.policy_id)
    old, new = service.batch_rules(batch), service.parse_rules(policy.rules)
    aggregate = await service.load_aggregate(session, batch_id=batch.id)
    if aggregate and rules.eligibility_changed(old, new):
        raise Conflict(
            N_(
                "the new version chooses events differently (components, kinds, assets or grace): "
                "clear the intake and load the events again"
            ),
            field="policy_id",
        )
    before = {"policy_version": batch.policy_version, "totals": batch.totals}
    batch.rules, batch.policy_version = policy.rules, policy.version
    await service.write_lines(session, batch=batch, aggregate=aggregate)
    await provenance.add_contributor(
        session, batch_id=batch.id, staff_id=actor_id, contribution=Contribution.refreshed_policy
    )
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.refresh_policy",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before=before,
        after={"policy_version": batch.policy_version, "totals": batch.totals},
    )
    return batch


# -- approval and cancellation ------------------------------------------------------------


async def four_eyes_refusal(session: AsyncSession, *, batch: Batch, staff_id: int) -> str | None:
    """Why this person may not approve the batch, or None: the server's check and the
    console's disabled button ask the same question."""
    return rules.four_eyes_refusal(batch.id, await _prepared(session, batch, staff_id))


async def four_eyes_contribution(
    session: AsyncSession, *, batch: Batch, staff_id: int
) -> Contribution | None:
    """What of this person's preparing the batch keeps them from approving it, or None."""
    return rules.first_contribution(await _prepared(session, batch, staff_id))


async def _prepared(session: AsyncSession, batch: Batch, staff_id: int) -> set[Contribution]:
    done = await provenance.contributions(session, batch_id=batch.id, staff_id=staff_id)
    if batch.created_by == staff_id:
        done.add(Contribution.created)
    return done


async def approve(session: AsyncSession, *, batch_id: int, actor_id: int) -> Batch:
    """Four eyes: a finance user who did nothing to prepare it (drafting, loading or clearing
    its intake, refreshing its policy), within the budget."""
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    rules.check_batch_transition(batch.state, BatchState.approved)
    rules.check_fresh(batch.intake)
    refusal = await four_eyes_refusal(session, batch=batch, staff_id=actor_id)
    if refusal is not None:
        raise FourEyes(refusal, field="approved_by")
    for asset, total in sorted(batch.totals.items()):
        if total["over_budget"]:
            raise BudgetExceeded(
                N_(
                    "%(asset)s: the batch pays %(total)s, over the budget of %(total2)s; change "
                    "the policy or its budget first"
                ),
                field=f"budget.{asset}",
                asset=asset,
                total=total["amount"],
                total2=total["budget"],
            )
    if not any(total["accounts"] for total in batch.totals.values()):
        raise InvalidTransition(N_("the batch pays no account: nothing to approve"), field="state")
    batch.state, batch.approved_by, batch.approved_at = BatchState.approved, actor_id, utcnow()
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.approve",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before={"state": BatchState.draft.value},
        after={"state": batch.state.value, "totals": batch.totals},
    )
    return batch


async def cancel(session: AsyncSession, *, batch_id: int, reason: str, actor_id: int) -> Batch:
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    before = batch.state
    rules.check_batch_transition(batch.state, BatchState.cancelled)
    batch.state, batch.cancelled_at, batch.cancel_reason = BatchState.cancelled, utcnow(), reason
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.cancel",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before={"state": before.value},
        after={"state": batch.state.value, "reason": reason},
    )
    return batch


# -- vouchers -----------------------------------------------------------------------------


async def void(
    session: AsyncSession,
    *,
    voucher_id: int,
    reason: str,
    actor_id: int,
    now: datetime | None = None,
) -> Voucher:
    voucher = await vouchers.get_voucher(session, voucher_id=voucher_id, lock=True)
    if voucher.state not in {VoucherState.issued, VoucherState.delivered}:
        raise InvalidTransition(
            N_("voucher %(id)s is %(state)s and cannot be voided"),
            field="state",
            id=voucher.id,
            state=voucher.state.value,
        )
    before = voucher.state
    voucher.state, voucher.voided_at = VoucherState.voided, now or utcnow()
    voucher.voided_by, voucher.void_reason = actor_id, reason
    credit = await session.scalar(
        select(CreditDelivery).where(CreditDelivery.voucher_id == voucher.id)
    )
    if credit is not None and credit.state == CreditState.pending:
        credit.state, credit.last_error = CreditState.failed, "voided before it was credited"
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.voucher.void",
        entity_type="voucher",
        entity_id=voucher.id,
        before={"state": before.value},
        after={"state": voucher.state.value, "reason": reason},
    )
    return voucher


async def mark_delivered(
    session: AsyncSession, *, batch_id: int, note: str, actor_id: int
) -> Batch:
    """The back office credited the exported vouchers: every one not yet delivered, voided or
    redeemed is recorded as delivered now (the CSV path, where no credit API confirms)."""
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    rules.check_batch_transition(batch.state, BatchState.delivered)
    now = utcnow()
    result = await session.execute(
        update(Voucher)
        .where(Voucher.batch_id == batch.id, Voucher.state == VoucherState.issued)
        .values(state=VoucherState.delivered, delivered_at=now)
    )
    await session.execute(
        update(CreditDelivery)
        .where(
            CreditDelivery.state == CreditState.pending,
            CreditDelivery.voucher_id.in_(select(Voucher.id).where(Voucher.batch_id == batch.id)),
        )
        .values(state=CreditState.failed, last_error="recorded as delivered by finance")
    )
    batch.state, batch.delivered_at = BatchState.delivered, now
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.mark_delivered",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before={"state": BatchState.issued.value},
        after={"state": batch.state.value, "vouchers": _rowcount(result), "note": note},
    )
    return batch


async def credited(
    session: AsyncSession, *, voucher_ids: Collection[int], now: datetime
) -> list[Batch]:
    """The platform's credit API took these vouchers: each still issued is delivered, and each
    issued batch with no credit left to send is delivered, audited as the system."""
    if not voucher_ids:
        return []
    ids = list(voucher_ids)
    await session.execute(
        update(Voucher)
        .where(Voucher.id.in_(ids), Voucher.state == VoucherState.issued)
        .values(state=VoucherState.delivered, delivered_at=now)
    )
    await session.execute(  # redeemed before it was credited: still, it was delivered now
        update(Voucher)
        .where(Voucher.id.in_(ids), Voucher.delivered_at.is_(None))
        .values(delivered_at=now)
    )
    batch_ids = await session.scalars(select(Voucher.batch_id).where(Voucher.id.in_(ids)))
    delivered = []
    for batch_id in sorted(set(batch_ids)):  # locked in one order: two workers never deadlock
        batch = await _deliver_if_credited(session, batch_id=batch_id, now=now)
        if batch is not None:
            delivered.append(batch)
    return delivered


async def _deliver_if_credited(
    session: AsyncSession, *, batch_id: int, now: datetime
) -> Batch | None:
    # Locked before counting: of two workers crediting a batch's last vouchers at once, the
    # second counts after the first committed, so one of them sees none left and delivers it.
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    if not rules.may_become(batch.state, BatchState.delivered):
        return None  # issuing still, or finance recorded it delivered meanwhile
    sent = CreditDelivery.state == CreditState.sent
    counts = (
        await session.execute(
            select(func.count().filter(~sent), func.count().filter(sent))
            .join(Voucher, Voucher.id == CreditDelivery.voucher_id)
            .where(Voucher.batch_id == batch.id, Voucher.state != VoucherState.voided)
        )
    ).one()
    if counts[0]:
        return None
    batch.state, batch.delivered_at = BatchState.delivered, now
    await audit.record(
        session,
        actor_id=None,  # the system: the credit API confirmed every voucher
        action="compensation.batch.deliver",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before={"state": BatchState.issued.value},
        after={"state": batch.state.value, "vouchers": counts[1]},
    )
    return batch


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
