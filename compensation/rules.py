"""Pure decisions of compensation: who is eligible, what each line pays, budgets, transitions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from compensation.assets import round_to_asset
from compensation.errors import Conflict, InvalidTransition
from compensation.events import EventKind
from compensation.models import BatchState, Contribution, LeftOut, LineNote
from compensation.schemas import CouponRules, FeeRefundRules
from incidents.common.errors import N_
from incidents.rules import ImpactWindow

_HUNDRED = Decimal(100)


# -- eligibility --------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """The windows, per component, in which an event counts, and which events count."""

    windows: Mapping[int, tuple[tuple[datetime, datetime], ...]]
    kinds: frozenset[EventKind]
    assets: frozenset[str] | None  # None: any asset

    def admits(self, *, component_id: int, kind: EventKind, asset: str, at: datetime) -> bool:
        return self.left_out(component_id=component_id, kind=kind, asset=asset, at=at) is None

    def left_out(
        self, *, component_id: int, kind: EventKind, asset: str, at: datetime
    ) -> LeftOut | None:
        """Why the event counts for nothing (the first reason in the policy's order), or None."""
        if kind not in self.kinds:
            return LeftOut.kind
        if self.assets is not None and asset not in self.assets:
            return LeftOut.asset
        if component_id not in self.windows:
            return LeftOut.component
        if not any(start <= at < end for start, end in self.windows[component_id]):
            return LeftOut.time
        return None


def eligibility(
    rules: FeeRefundRules | CouponRules,
    *,
    impact: Mapping[int, list[ImpactWindow]],
    started_at: datetime,
    resolved_at: datetime,
) -> Eligibility:
    """Windows are the incident's impact windows per component, widened by the grace; a
    component named by the policy that the incident never marked gets the incident's span."""
    before = timedelta(minutes=rules.grace_before_minutes)
    after = timedelta(minutes=rules.grace_after_minutes)
    chosen = rules.components if rules.components is not None else sorted(impact)
    windows = {}
    for component_id in chosen:
        spans = [(w.start, w.end or resolved_at) for w in impact.get(component_id, [])]
        windows[component_id] = tuple(
            (start - before, end + after) for start, end in spans or [(started_at, resolved_at)]
        )
    if isinstance(rules, CouponRules) and rules.tiers is not None:
        assets: frozenset[str] | None = frozenset({rules.asset})
    else:
        assets = frozenset(rules.assets) if rules.assets is not None else None
    return Eligibility(windows=windows, kinds=frozenset(rules.event_kinds), assets=assets)


def line_asset(rules: FeeRefundRules | CouponRules, event_asset: str) -> str:
    """Fee refunds pay in the asset the fee was paid in; coupons in the coupon's asset."""
    return rules.asset if isinstance(rules, CouponRules) else event_asset


def counts_toward_line(rules: FeeRefundRules | CouponRules, event_asset: str) -> bool:
    """Whether an eligible event's fee and volume add to its line (a coupon's line sums only
    what was paid in the coupon's asset; other assets still make the account eligible)."""
    return not isinstance(rules, CouponRules) or event_asset == rules.asset


# -- amounts ------------------------------------------------------------------------------


def line_amount(
    rules: FeeRefundRules | CouponRules,
    *,
    asset: str,
    fees: Decimal,
    volume: Decimal,
    excluded: bool,
) -> tuple[Decimal, LineNote]:
    """What one account is paid in one asset, rounded once, down, to the asset's scale."""
    if excluded:
        return Decimal(0), LineNote.excluded
    if isinstance(rules, FeeRefundRules):
        return _refund(rules, asset=asset, fees=fees)
    return _coupon(rules, fees=fees, volume=volume)


def _refund(rules: FeeRefundRules, *, asset: str, fees: Decimal) -> tuple[Decimal, LineNote]:
    amount = round_to_asset(fees * rules.percent / _HUNDRED, asset)
    note = LineNote.payable
    cap = rules.per_account_cap.get(asset)
    if cap is not None and amount > cap:
        amount, note = cap, LineNote.capped
    minimum = rules.minimum_payout.get(asset, Decimal(0))
    if amount == 0 or amount < minimum:
        return Decimal(0), LineNote.below_minimum
    return amount, note


def _coupon(rules: CouponRules, *, fees: Decimal, volume: Decimal) -> tuple[Decimal, LineNote]:
    if rules.amount is not None:
        return rules.amount, LineNote.payable
    basis = volume if rules.tier_basis == "volume" else fees
    reached = [tier for tier in rules.tiers or [] if basis >= tier.at_least]
    if not reached:
        return Decimal(0), LineNote.below_minimum
    best = max(reached, key=lambda tier: tier.at_least)
    if best.amount == 0:
        return Decimal(0), LineNote.below_minimum
    return best.amount, LineNote.payable


@dataclass(frozen=True)
class AssetTotal:
    accounts: int
    amount: Decimal
    budget: Decimal | None

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.amount > self.budget


def totals(
    amounts: Iterable[tuple[str, Decimal]], budget: Mapping[str, Decimal]
) -> dict[str, AssetTotal]:
    """Per asset: how many accounts are paid and how much, against the budget."""
    accounts: dict[str, int] = {}
    sums: dict[str, Decimal] = {}
    for asset, amount in amounts:
        if amount > 0:
            accounts[asset] = accounts.get(asset, 0) + 1
            sums[asset] = sums.get(asset, Decimal(0)) + amount
    for asset in budget:
        sums.setdefault(asset, Decimal(0))
    return {
        asset: AssetTotal(accounts.get(asset, 0), sums[asset], budget.get(asset))
        for asset in sorted(sums)
    }


# -- lifecycle ----------------------------------------------------------------------------

_NEXT: Mapping[BatchState, frozenset[BatchState]] = {
    BatchState.draft: frozenset({BatchState.approved, BatchState.cancelled}),
    BatchState.approved: frozenset({BatchState.issuing, BatchState.cancelled}),
    BatchState.issuing: frozenset({BatchState.issuing, BatchState.issued}),
    BatchState.issued: frozenset({BatchState.delivered}),
    BatchState.delivered: frozenset(),
    BatchState.cancelled: frozenset(),
}


def may_become(current: BatchState, new: BatchState) -> bool:
    return new in _NEXT[current]


def check_batch_transition(current: BatchState, new: BatchState) -> None:
    if not may_become(current, new):
        raise InvalidTransition(
            N_("a batch that is %(current)s cannot become %(new)s"),
            field="state",
            current=current.value,
            new=new.value,
        )


def check_editable(current: BatchState) -> None:
    """Intake and policy changes only while the batch is a draft."""
    if current != BatchState.draft:
        raise InvalidTransition(
            N_("the batch is %(current)s: only a draft takes accounts or policy changes"),
            field="state",
            current=current.value,
        )


STALE = "stale"  # in a draft's intake: the incident was corrected after events were loaded


def check_fresh(intake: dict[str, object]) -> None:
    """A draft whose intake predates a correction of the incident (a component taken off)
    was computed from impact windows that are no longer true: it is cleared and loaded
    again before it takes more events or is approved."""
    if intake.get(STALE):
        raise Conflict(
            N_(
                "the incident was corrected after this batch's events were loaded: clear the "
                "intake and load the events again"
            ),
            field="intake",
        )


# What a refusal says each contribution was, in this order when someone did several.
_DID: dict[Contribution, str] = {
    Contribution.created: "drafted batch {id}",
    Contribution.loaded_accounts: "loaded the accounts of batch {id}",
    Contribution.loaded_events: "loaded the events of batch {id}",
    Contribution.cleared_intake: "cleared the intake of batch {id}",
    Contribution.refreshed_policy: "refreshed the policy of batch {id}",
}


def four_eyes_refusal(batch_id: int, done: Collection[Contribution]) -> str | None:
    """Why someone who prepared a batch may not approve it (None: they did nothing to it), by
    the first thing they did in `_DID`'s order. Choosing the recipients and approving them
    are never one person's doing."""
    first = first_contribution(done)
    if first is None:
        return None
    return f"you {_DID[first].format(id=batch_id)}: a second finance user must approve it"


def first_contribution(done: Collection[Contribution]) -> Contribution | None:
    """What a refusal names of what someone did to prepare a batch: the first in `_DID`'s
    order (the console words it in the staffer's language)."""
    return next((contribution for contribution in _DID if contribution in done), None)


def eligibility_changed(
    old: FeeRefundRules | CouponRules, new: FeeRefundRules | CouponRules
) -> bool:
    """Whether a new policy version filters events differently (the intake must be redone)."""
    fields = ("components", "event_kinds", "assets", "grace_before_minutes", "grace_after_minutes")
    if type(old) is not type(new):
        return True
    if (
        isinstance(old, CouponRules)
        and isinstance(new, CouponRules)
        and (old.asset, old.tiers is None) != (new.asset, new.tiers is None)
    ):
        return True
    return any(getattr(old, name) != getattr(new, name) for name in fields)
