"""Pure rules of compensation: exact amounts per policy, and properties that hold for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compensation import rules
from compensation.assets import SCALES, unit
from compensation.errors import InvalidTransition
from compensation.events import EventKind
from compensation.models import BatchState, LineNote
from compensation.schemas import CouponRules, FeeRefundRules
from incidents.models import ComponentStatus
from incidents.rules import ImpactWindow, Segment

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def refund(**overrides: object) -> FeeRefundRules:
    return FeeRefundRules.model_validate({"percent": "100", **overrides})


def price(
    value: FeeRefundRules | CouponRules, asset: str, fees: str, volume: str = "0"
) -> tuple[Decimal, LineNote]:
    return rules.line_amount(
        value, asset=asset, fees=Decimal(fees), volume=Decimal(volume), excluded=False
    )


@pytest.mark.parametrize(
    ("overrides", "asset", "fees", "expected"),
    [
        ({}, "BTC", "0.00012345", (Decimal("0.00012345"), LineNote.payable)),
        ({"percent": "33.3333"}, "USDT", "10", (Decimal("3.333330"), LineNote.payable)),
        ({"percent": "50"}, "BTC", "0.00000001", (Decimal(0), LineNote.below_minimum)),
        ({"percent": "50"}, "ETH", "0.000000000000000003", (Decimal("1E-18"), LineNote.payable)),
        ({"percent": "10"}, "USD", "0.99", (Decimal("0.09"), LineNote.payable)),
        ({"per_account_cap": {"USDT": "25"}}, "USDT", "25.000001", (Decimal(25), LineNote.capped)),
        (
            {"minimum_payout": {"USDT": "1"}},
            "USDT",
            "0.999999",
            (Decimal(0), LineNote.below_minimum),
        ),
        ({"minimum_payout": {"USDT": "1"}}, "USDT", "1", (Decimal(1), LineNote.payable)),
    ],
)
def test_a_fee_refund_pays_the_share_rounded_down_to_the_asset(
    overrides: dict[str, object], asset: str, fees: str, expected: tuple[Decimal, LineNote]
) -> None:
    assert price(refund(**overrides), asset, fees) == expected


def test_coupons_pay_fixed_or_by_the_highest_tier_reached() -> None:
    fixed = CouponRules.model_validate({"asset": "USDT", "amount": "10"})
    assert price(fixed, "USDT", "0") == (Decimal(10), LineNote.payable)
    tiers = CouponRules.model_validate(
        {
            "asset": "USDT",
            "tier_basis": "fees",
            "tiers": [{"at_least": "1", "amount": "2"}, {"at_least": "10", "amount": "15"}],
        }
    )
    assert price(tiers, "USDT", "0.999999") == (Decimal(0), LineNote.below_minimum)
    assert price(tiers, "USDT", "9.99") == (Decimal(2), LineNote.payable)
    assert price(tiers, "USDT", "10") == (Decimal(15), LineNote.payable)


def test_an_excluded_account_gets_nothing() -> None:
    assert rules.line_amount(
        refund(), asset="BTC", fees=Decimal(1), volume=Decimal(0), excluded=True
    ) == (Decimal(0), LineNote.excluded)


def test_policies_refuse_amounts_finer_than_the_asset_and_floats() -> None:
    with pytest.raises(ValueError, match=r"per_account_cap.BTC: BTC has 8 decimal places"):
        refund(per_account_cap={"BTC": "0.000000001"})
    with pytest.raises(ValueError, match="write amounts with decimals as strings"):
        FeeRefundRules.model_validate({"percent": 12.5})
    with pytest.raises(ValueError, match="either a fixed amount or tiers"):
        CouponRules.model_validate({"asset": "USDT"})


def test_the_window_is_the_impact_widened_by_the_grace() -> None:
    window = ImpactWindow(
        1,
        T0,
        T0 + timedelta(hours=1),
        (Segment(T0, T0 + timedelta(hours=1), ComponentStatus.major_outage),),
    )
    value = refund(grace_before_minutes=10, grace_after_minutes=30)
    found = rules.eligibility(
        value, impact={1: [window]}, started_at=T0, resolved_at=T0 + timedelta(hours=2)
    )

    def admits(at: datetime, component: int = 1, kind: EventKind = EventKind.trade) -> bool:
        return found.admits(component_id=component, kind=kind, asset="BTC", at=at)

    assert admits(T0 - timedelta(minutes=10))
    assert not admits(T0 - timedelta(minutes=11))
    assert admits(T0 + timedelta(minutes=89, seconds=59))
    assert not admits(T0 + timedelta(minutes=90))
    assert not admits(T0, component=2)
    assert not admits(T0, kind=EventKind.deposit)


def test_a_batch_moves_only_forward() -> None:
    rules.check_batch_transition(BatchState.draft, BatchState.approved)
    rules.check_batch_transition(BatchState.issuing, BatchState.issuing)  # a resumed issue
    with pytest.raises(InvalidTransition, match="a batch that is draft cannot become issuing"):
        rules.check_batch_transition(BatchState.draft, BatchState.issuing)
    with pytest.raises(InvalidTransition, match="issued cannot become cancelled"):
        rules.check_batch_transition(BatchState.issued, BatchState.cancelled)


# -- properties -----------------------------------------------------------------------------

assets = st.sampled_from(sorted(SCALES))


@st.composite
def amounts(draw: st.DrawFn, asset: str) -> Decimal:
    units = draw(st.integers(min_value=0, max_value=10**15))
    return Decimal(units) * unit(asset)


@given(data=st.data(), asset=assets, percent=st.integers(min_value=1, max_value=1_000_000))
def test_a_refund_is_never_negative_never_over_the_cap_and_never_more_than_the_share(
    data: st.DataObject, asset: str, percent: int
) -> None:
    share = Decimal(percent).scaleb(-4)  # 0.0001 % to 100 %
    fees = data.draw(amounts(asset))
    cap = data.draw(amounts(asset))
    minimum = data.draw(amounts(asset))
    value = refund(
        percent=format(share, "f"),
        per_account_cap={asset: format(cap, "f")},
        minimum_payout={asset: format(minimum, "f")},
    )
    amount, note = price(value, asset, format(fees, "f"))
    assert Decimal(0) <= amount <= cap
    assert amount <= fees * share / 100  # rounding never creates money
    assert amount == amount.quantize(unit(asset))  # no finer than the asset counts
    assert (amount == 0) == (note in {LineNote.below_minimum, LineNote.excluded})
    if amount:
        assert amount >= minimum


@given(
    lines=st.lists(
        st.tuples(st.sampled_from(["BTC", "USDT"]), st.integers(min_value=0, max_value=10**12)),
        max_size=50,
    ),
    budget=st.integers(min_value=0, max_value=10**13),
)
def test_totals_are_the_exact_sum_of_the_lines_and_flag_the_budget(
    lines: list[tuple[str, int]], budget: int
) -> None:
    priced = [(asset, Decimal(units) * unit(asset)) for asset, units in lines]
    cap = Decimal(budget) * unit("USDT")
    found = rules.totals(priced, {"USDT": cap})
    for asset in ("BTC", "USDT"):
        paid = [amount for line_asset, amount in priced if line_asset == asset and amount > 0]
        if asset in found:
            assert found[asset].amount == sum(paid, Decimal(0))
            assert found[asset].accounts == len(paid)
        else:
            assert not paid
    assert found["USDT"].over_budget == (found["USDT"].amount > cap)
