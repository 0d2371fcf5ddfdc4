"""Multi-step compensation operations: intake, policy refresh, approval, cancel, void, delivery."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from compensation import rules, service
from compensation.errors import (
    BudgetExceeded,
    Conflict,
    FourEyes,
    InvalidInput,
    InvalidTransition,
)
from compensation.intake import AccountEvent, Rejection
from compensation.models import (
    Batch,
    BatchState,
    CreditDelivery,
    CreditState,
    Voucher,
    VoucherState,
)
from compensation.rules import Eligibility
from compensation.schemas import CouponRules, FeeRefundRules
from incidents import service as incident_service
from incidents.common import audit
from incidents.common.db_types import utcnow

# -- intake -------------------------------------------------------------------------------

_T = TypeVar("_T")


class Transactions(Protocol):
    """How the edge runs work on the database: in a session that only reads, or in one
    transaction (the edge decides what else goes with a write)."""

    async def read(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T: ...

    async def write(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T: ...


async def take_events(
    db: Transactions,
    *,
    batch_id: int,
    events: AsyncIterable[list[AccountEvent | Rejection]],
    source: str,
    digest: Callable[[], str] | None,
    actor_id: int,
) -> tuple[Batch, Collected]:
    """A batch's events, however they come (an upload, the platform's paged API): the plan in
    a short read, the sums with no transaction open (an upload may take minutes), then one
    short transaction adding them to the draft. `digest` gives the file's SHA-256 once read."""
    plan = await db.read(lambda session: plan_intake(session, batch_id=batch_id))
    collected = await collect(plan, events, Collected())
    batch = await db.write(
        lambda session: commit_intake(
            session,
            plan=plan,
            collected=collected,
            source=source,
            digest=digest() if digest is not None else None,
            actor_id=actor_id,
        )
    )
    return batch, collected


@dataclass(frozen=True)
class IntakePlan:
    """What a batch takes, read before a long upload so no transaction stays open during it."""

    batch_id: int
    policy_version: int
    rules: FeeRefundRules | CouponRules
    eligibility: Eligibility
    components: dict[str, int]  # "3" and "spot trading" (lower case) -> 3


@dataclass
class Collected:
    aggregate: service.Aggregate = field(default_factory=dict)
    rejections: list[tuple[int, str]] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    ineligible: int = 0

    def summary(self) -> dict[str, int]:
        return {"accepted": self.accepted, "rejected": self.rejected, "ineligible": self.ineligible}


async def plan_intake(session: AsyncSession, *, batch_id: int) -> IntakePlan:
    batch = await service.get_batch(session, batch_id=batch_id)
    rules.check_editable(batch.state)
    incident = await incident_service.get_incident(session, incident_id=batch.incident_id)
    assert incident.resolved_at is not None  # a batch is only made for a resolved incident
    value = service.batch_rules(batch)
    components: dict[str, int] = {}
    for component in await incident_service.list_components(session):
        components[str(component.id)] = component.id
        components[component.name.strip().lower()] = component.id
    return IntakePlan(
        batch_id=batch.id,
        policy_version=batch.policy_version,
        rules=value,
        eligibility=rules.eligibility(
            value,
            impact=incident_service.impact_windows(incident),
            started_at=incident.started_at,
            resolved_at=incident.resolved_at,
        ),
        components=components,
    )


async def collect(
    plan: IntakePlan, batches: AsyncIterable[list[AccountEvent | Rejection]], into: Collected
) -> Collected:
    """Sums each eligible event into its (account, asset) line; keeps the rejections."""
    async for batch in batches:
        for event in batch:
            if isinstance(event, Rejection):
                _reject(into, event.line, event.reason)
            else:
                _add(plan, event, into)
    return into


def _add(plan: IntakePlan, event: AccountEvent, into: Collected) -> None:
    component_id = plan.components.get(event.component)
    if component_id is None:
        component_id = plan.components.get(event.component.strip().lower())
    if component_id is None:
        _reject(into, event.line, f"component: {event.component[:60]!r} is not a component")
        return
    into.accepted += 1
    if not plan.eligibility.admits(
        component_id=component_id, kind=event.kind, asset=event.asset, at=event.at
    ):
        into.ineligible += 1
        return
    value = plan.rules
    key = (event.account_id, rules.line_asset(value, event.asset))
    line = into.aggregate.get(key)
    if line is None:
        line = into.aggregate[key] = [Decimal(0), Decimal(0), 0]
    if rules.counts_toward_line(value, event.asset):
        line[0] += event.fee
        line[1] += event.volume
    line[2] += 1


async def in_batches(
    events: AsyncIterable[AccountEvent | Rejection], size: int = 1000
) -> AsyncIterator[list[AccountEvent | Rejection]]:
    """One event at a time (the paged HTTP pull) regrouped for `collect`."""
    batch: list[AccountEvent | Rejection] = []
    async for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reject(into: Collected, line: int, reason: str) -> None:
    into.rejected += 1
    if len(into.rejections) < service.REJECTIONS_KEPT:
        into.rejections.append((line, reason))


def collect_accounts(plan: IntakePlan, account_ids: Iterable[str]) -> Collected:
    """A pasted list of accounts: each gets a line with no activity (coupons only)."""
    value = plan.rules
    if not isinstance(value, CouponRules) or value.tiers is not None:
        raise InvalidInput(
            "a list of accounts fits a fixed-amount coupon; this policy needs their events",
            field="account_ids",
        )
    into = Collected()
    for account_id in account_ids:
        into.accepted += 1
        into.aggregate.setdefault((account_id, value.asset), [Decimal(0), Decimal(0), 0])
    return into


async def commit_intake(
    session: AsyncSession,
    *,
    plan: IntakePlan,
    collected: Collected,
    source: str,
    digest: str | None,
    actor_id: int,
) -> Batch:
    """Adds what was collected to the batch's lines, in one transaction."""
    batch = await service.get_batch(session, batch_id=plan.batch_id, lock=True)
    rules.check_editable(batch.state)
    if batch.policy_version != plan.policy_version:
        raise Conflict("the batch's policy changed during the upload; send it again", field="file")
    sources: list[dict[str, Any]] = list(batch.intake.get("sources", []))
    if digest is not None and any(taken.get("sha256") == digest for taken in sources):
        raise Conflict(
            f"this file was already taken into batch {batch.id}; clear the intake to take it again",
            field="file",
        )
    aggregate = await service.load_aggregate(session, batch_id=batch.id)
    for key, (fees, volume, events) in collected.aggregate.items():
        line = aggregate.get(key)
        if line is None:  # the collected sums as they are: no new Decimals for each line
            aggregate[key] = [fees, volume, events]
            continue
        line[0] += fees
        line[1] += volume
        line[2] += events
    await service.write_lines(session, batch=batch, aggregate=aggregate)
    await service.add_rejections(
        session, batch_id=batch.id, source=source, found=collected.rejections
    )
    summary = collected.summary()
    sources.append({"source": source, "sha256": digest, **summary})
    intake = {name: batch.intake.get(name, 0) + count for name, count in summary.items()}
    batch.intake = {**intake, "sources": sources}
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.intake",
        entity_type="compensation_batch",
        entity_id=batch.id,
        after={"source": source, "sha256": digest, **summary, "lines": len(aggregate)},
    )
    return batch


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
            "the new version chooses events differently (components, kinds, assets or grace): "
            "clear the intake and load the events again",
            field="policy_id",
        )
    before = {"policy_version": batch.policy_version, "totals": batch.totals}
    batch.rules, batch.policy_version = policy.rules, policy.version
    await service.write_lines(session, batch=batch, aggregate=aggregate)
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


async def approve(session: AsyncSession, *, batch_id: int, actor_id: int) -> Batch:
    """Four eyes: a finance user other than the one who drafted it, within the budget."""
    batch = await service.get_batch(session, batch_id=batch_id, lock=True)
    rules.check_batch_transition(batch.state, BatchState.approved)
    if batch.created_by == actor_id:
        raise FourEyes(
            f"you drafted batch {batch.id}: a second finance user must approve it",
            field="approved_by",
        )
    for asset, total in sorted(batch.totals.items()):
        if total["over_budget"]:
            raise BudgetExceeded(
                f"{asset}: the batch pays {total['amount']}, over the budget of "
                f"{total['budget']}; change the policy or its budget first",
                field=f"budget.{asset}",
            )
    if not any(total["accounts"] for total in batch.totals.values()):
        raise InvalidTransition("the batch pays no account: nothing to approve", field="state")
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
    voucher = await service.get_voucher(session, voucher_id=voucher_id, lock=True)
    if voucher.state not in {VoucherState.issued, VoucherState.delivered}:
        raise InvalidTransition(
            f"voucher {voucher.id} is {voucher.state.value} and cannot be voided", field="state"
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
