"""Input and output shapes of compensation, validated at the boundary."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from compensation.assets import SCALES, check_amount, decimal_from_json
from compensation.errors import InvalidInput
from compensation.events import EventKind
from compensation.models import BatchState, LineNote, PolicyKind, VoucherState
from incidents.common.errors import N_, Invalid
from incidents.schemas import check_one_line, check_text

AccountId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$"
    ),
]
Asset = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=16)
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=2000),
    AfterValidator(check_text),
]
_ID = Annotated[int, Field(ge=1, le=2**31 - 1)]


# Amounts out: exact decimal strings, never exponent form ("0.000000000000000001").
_PLAIN = PlainSerializer(lambda d: format(d, "f"), return_type=str)
AmountOut = Annotated[Decimal, _PLAIN]
# Amounts in: whole JSON numbers or strings of plain digits ("0.00012345"), read by the one
# parser (JSON numbers with a fraction arrive as floats, already inexact, and are refused).
Amount = Annotated[Decimal, BeforeValidator(decimal_from_json), _PLAIN]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _amount(amount: Decimal, asset: str, field: str) -> Decimal:
    """check_amount's refusal as a validation error that names the field."""
    try:
        return check_amount(amount, asset, field=field)
    except InvalidInput as error:
        raise Invalid(N_("%(field_name)s: %(problem)s"), field_name=field, problem=error) from None


def _amounts(values: dict[str, Decimal], name: str) -> dict[str, Decimal]:
    checked = {}
    for asset, amount in values.items():
        key = asset.strip().upper()
        if key not in SCALES:
            raise Invalid(
                N_("%(name)s.%(asset)s: asset is not one of %(value)s"),
                name=name,
                asset=asset,
                value=", ".join(sorted(SCALES)),
            )
        checked[key] = _amount(amount, key, f"{name}.{key}")
    return checked


class _Rules(_In):
    """What both kinds share: who is eligible, the budget, how long vouchers last."""

    components: list[_ID] | None = Field(
        default=None, max_length=500, description="default: the components the incident affected"
    )
    event_kinds: list[EventKind] = Field(
        default=[EventKind.trade, EventKind.withdrawal], min_length=1
    )
    assets: list[Asset] | None = Field(default=None, max_length=50)
    grace_before_minutes: Annotated[int, Field(ge=0, le=10080)] = 0
    grace_after_minutes: Annotated[int, Field(ge=0, le=10080)] = 0
    exclusions: list[AccountId] = Field(default=[], max_length=100_000)
    budget: dict[str, Amount] = Field(default={}, description="per asset: the most a batch pays")
    validity_days: Annotated[int, Field(ge=1, le=3650)] = 90

    @model_validator(mode="after")
    def _check_shared(self) -> _Rules:
        self.budget = _amounts(self.budget, "budget")
        for asset in self.assets or []:
            if asset not in SCALES:
                raise Invalid(
                    N_("assets: %(asset)r is not one of %(value)s"),
                    asset=asset,
                    value=", ".join(sorted(SCALES)),
                )
        return self


class FeeRefundRules(_Rules):
    kind: Literal["fee_refund"] = "fee_refund"
    percent: Annotated[Amount, Field(gt=0, le=100, max_digits=9, decimal_places=4)]
    per_account_cap: dict[str, Amount] = {}
    minimum_payout: dict[str, Amount] = {}

    @model_validator(mode="after")
    def _check_amounts(self) -> FeeRefundRules:
        self.per_account_cap = _amounts(self.per_account_cap, "per_account_cap")
        self.minimum_payout = _amounts(self.minimum_payout, "minimum_payout")
        return self


class Tier(_In):
    at_least: Amount = Field(description="the account's affected volume or fees, in the asset")
    amount: Amount


class CouponRules(_Rules):
    kind: Literal["coupon"] = "coupon"
    asset: Asset
    amount: Amount | None = Field(default=None, description="a fixed amount per account")
    tiers: list[Tier] | None = Field(default=None, max_length=50)
    tier_basis: Literal["volume", "fees"] = "volume"

    @model_validator(mode="after")
    def _check_coupon(self) -> CouponRules:
        if self.asset not in SCALES:
            raise Invalid(
                N_("asset: %(asset)r is not one of %(value)s"),
                asset=self.asset,
                value=", ".join(sorted(SCALES)),
            )
        if (self.amount is None) == (self.tiers is None):
            raise Invalid(N_("amount: give either a fixed amount or tiers, not both or neither"))
        if self.amount is not None:
            self.amount = _amount(self.amount, self.asset, "amount")
            if self.amount == 0:
                raise Invalid(N_("amount: a coupon of zero pays nothing"))
        for index, tier in enumerate(self.tiers or []):
            tier.at_least = _amount(tier.at_least, self.asset, f"tiers.{index}.at_least")
            tier.amount = _amount(tier.amount, self.asset, f"tiers.{index}.amount")
        return self


Rules = Annotated[FeeRefundRules | CouponRules, Field(discriminator="kind")]


class PolicyIn(_In):
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
        AfterValidator(check_one_line),
    ]
    rules: Rules


class PolicyPatch(_In):
    rules: Rules


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: PolicyKind
    version: int
    rules: dict[str, object]
    created_at: datetime
    updated_at: datetime


class BatchIn(_In):
    incident_id: _ID
    policy_id: _ID


class AccountsIn(_In):
    account_ids: list[AccountId] = Field(min_length=1, max_length=100_000)


class PullIn(_In):
    params: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)],
        Annotated[str, StringConstraints(max_length=500)],
    ] = Field(default={}, max_length=20)


class ReasonIn(_In):
    reason: Reason


class RedeemIn(_In):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    account_id: AccountId
    reference: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
        AfterValidator(check_one_line),
    ] = Field(description="the platform's own id for the credit; a retry sends the same one")


class AssetTotal(BaseModel):
    accounts: int
    amount: str
    budget: str | None
    over_budget: bool


class BatchOut(BaseModel):
    id: int
    incident_id: int
    policy_id: int
    policy_version: int
    policy_kind: PolicyKind
    rules: dict[str, object]
    state: BatchState
    intake: dict[str, object]
    totals: dict[str, AssetTotal]
    created_by: int
    approved_by: int | None
    approved_at: datetime | None
    issued_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: str
    asset: str
    fees: AmountOut
    volume: AmountOut
    events: int
    amount: AmountOut
    note: LineNote


class RejectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    line: int
    reason: str


class VoucherOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    batch_id: int
    incident_id: int
    account_id: str
    asset: str
    amount: AmountOut
    state: VoucherState
    expired: bool
    issued_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    redeemed_at: datetime | None
    redemption_ref: str | None
    voided_at: datetime | None
    void_reason: str | None
