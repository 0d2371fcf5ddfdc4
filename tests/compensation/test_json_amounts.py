"""Amounts that arrive as JSON are plain ASCII decimals: an exponent, an underscore, digits of
another script, a space inside or NaN is refused with 422 naming the field, never read as the
number it might mean."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from compensation.schemas import CouponRules, FeeRefundRules
from tests.compensation.helpers import COMP, Scene, make_scene

REFUND = {"kind": "fee_refund", "percent": "50"}
NOT_PLAIN = [
    "1e2",
    "1E-4",
    "1_000",
    "\uff11\uff10\uff10",  # full-width 100
    "\u0661\u0660\u0660",  # Arabic-Indic 100
    "1 000",
    "1.",
    ".5",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    "",
    "1\u00a0000",
]


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_the_rules_refuse_an_amount_that_is_not_plain_digits(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        FeeRefundRules.model_validate({"percent": "50", "per_account_cap": {"USDT": text}})
    [error] = raised.value.errors(include_url=False)
    assert error["loc"] == ("per_account_cap", "USDT")
    assert "is not a plain decimal number" in error["msg"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", Decimal(100)),
        ("0.000001", Decimal("0.000001")),
        (" 25 ", Decimal(25)),
        (7, Decimal(7)),
        (Decimal("2.5"), Decimal("2.5")),
    ],
)
def test_plain_amounts_and_whole_numbers_are_read_exactly(value: object, expected: Decimal) -> None:
    rules = CouponRules.model_validate({"asset": "USDT", "amount": value})
    assert rules.amount == expected
    assert str(rules.amount) == str(expected)


@pytest.mark.parametrize("value", [True, 1.5, None, ["1"], {"a": "1"}])
def test_an_amount_of_another_json_type_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        CouponRules.model_validate({"asset": "USDT", "budget": {"USDT": value}, "amount": "1"})
    assert raised.value.errors(include_url=False)[0]["loc"] == ("budget", "USDT")


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({**REFUND, "percent": "1e2"}, "rules.fee_refund.percent"),
        ({**REFUND, "percent": "\uff15\uff10"}, "rules.fee_refund.percent"),
        ({**REFUND, "per_account_cap": {"USDT": "1_000"}}, "rules.fee_refund.per_account_cap.USDT"),
        ({**REFUND, "minimum_payout": {"BTC": "1E-4"}}, "rules.fee_refund.minimum_payout.BTC"),
        ({**REFUND, "budget": {"USDT": "5e4"}}, "rules.fee_refund.budget.USDT"),
        ({"kind": "coupon", "asset": "USDT", "amount": "1e1"}, "rules.coupon.amount"),
        (
            {"kind": "coupon", "asset": "USDT", "tiers": [{"at_least": "1E3", "amount": "5"}]},
            "rules.coupon.tiers.0.at_least",
        ),
    ],
)
async def test_the_api_answers_422_naming_the_amount_that_is_not_plain(
    scene: Scene, rules: dict[str, Any], field: str
) -> None:
    response = await scene.client.post(
        f"{COMP}/policies", json={"name": "Refund", "rules": rules}, headers=scene.drafter
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert error["message"].startswith(f"{field}: ")
    assert "is not a plain decimal number" in error["message"]
    listed = await scene.client.get(f"{COMP}/policies", headers=scene.drafter)
    assert listed.json() == []


async def test_a_policy_patch_refuses_them_too(scene: Scene) -> None:
    policy_id = await scene.policy(REFUND)
    response = await scene.client.patch(
        f"{COMP}/policies/{policy_id}",
        json={"rules": {**REFUND, "per_account_cap": {"ETH": "1e-18"}}},
        headers=scene.drafter,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "rules.fee_refund.per_account_cap.ETH"
    policy = await scene.client.get(f"{COMP}/policies/{policy_id}", headers=scene.drafter)
    assert policy.json()["version"] == 1


@pytest.mark.parametrize(
    ("fee", "reason"),
    [
        ('"1e2"', "fee: '1e2' is not a plain non-negative decimal number"),
        ("1E-4", "fee: '1E-4' is not a plain non-negative decimal number"),
        ('"1_000"', "fee: '1_000' is not a plain non-negative decimal number"),
        ('"\uff11"', "fee: '\uff11' is not a plain non-negative decimal number"),
    ],
)
async def test_json_lines_events_refuse_them_by_line(scene: Scene, fee: str, reason: str) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    line = (
        f'{{"account_id":"acc-1","asset":"USDT","fee":{fee},"volume":"1","kind":"trade",'
        '"component":"Spot trading","at":"2026-03-01T02:10:00Z"}'
    )
    response = await scene.upload(batch_id, line, media="application/x-ndjson")
    assert response.status_code == 200, response.text
    assert response.json()["rejections"] == [{"line": 1, "reason": reason}]
    assert await scene.lines(batch_id) == {}
