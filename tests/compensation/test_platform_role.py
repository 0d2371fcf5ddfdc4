"""The exchange platform's token: it redeems vouchers and looks up one account's, and is
refused everything else a finance token could do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.db import Database
from tests.compensation.helpers import API, COMP, Scene, issued, make_scene

PLATFORM_EMAIL = "exchange@example.com"


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


@pytest.fixture
async def platform(make_token: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(StaffRole.platform, PLATFORM_EMAIL)}"}


def _forbidden(response: httpx.Response, message: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"] == message


async def test_the_platform_redeems_and_looks_up_by_account_audited_as_itself(
    scene: Scene, platform: dict[str, str], database: Database
) -> None:
    _, vouchers = await issued(scene)
    found = await scene.client.get(
        f"{COMP}/vouchers", params={"account_id": "acc-2"}, headers=platform
    )
    assert found.status_code == 200, found.text
    assert [(v["account_id"], v["amount"], v["state"]) for v in found.json()] == [
        ("acc-2", "3.5", "issued")
    ]
    code = found.json()[0]["code"]
    assert code == vouchers["acc-2"]["code"]
    body = {"code": code, "account_id": "acc-2", "reference": "credit-9"}
    redeemed = await scene.client.post(f"{COMP}/vouchers/redeem", json=body, headers=platform)
    assert redeemed.status_code == 200, redeemed.text
    assert (redeemed.json()["state"], redeemed.json()["amount"]) == ("redeemed", "3.5")
    again = await scene.client.post(f"{COMP}/vouchers/redeem", json=body, headers=platform)
    assert again.json() == redeemed.json()

    async with database.sessionmaker() as session:
        platform_id = (await tokens.find_staff(session, email=PLATFORM_EMAIL)).id
    log = await scene.client.get(
        f"{API}/audit", params={"action": "compensation.voucher.redeem"}, headers=scene.admin
    )
    assert [(e["actor_id"], e["after"]["reference"]) for e in log.json()] == [
        (platform_id, "credit-9")
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"batch_id": "1"}, {"account_id": "acc-2", "batch_id": "1"}, {"state": "issued"}],
)
async def test_the_platform_lists_vouchers_by_account_only(
    scene: Scene, platform: dict[str, str], params: dict[str, str]
) -> None:
    response = await scene.client.get(f"{COMP}/vouchers", params=params, headers=platform)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": "the platform role lists vouchers by account_id only",
        "field": "account_id",
    }


async def test_the_platform_is_refused_every_other_finance_step(
    scene: Scene, platform: dict[str, str]
) -> None:
    batch_id, vouchers = await issued(scene)
    code = vouchers["acc-1"]["code"]
    batch = f"{COMP}/batches/{batch_id}"
    needs_finance = "this action needs the finance role; you are platform"
    for method, path, body in [
        ("GET", f"{COMP}/policies", None),
        ("POST", f"{COMP}/policies", {"name": "Free money", "rules": {"kind": "fee_refund"}}),
        ("GET", f"{COMP}/batches", None),
        ("GET", batch, None),
        ("GET", f"{batch}/lines", None),
        ("POST", f"{batch}/approve", None),
        ("POST", f"{batch}/cancel", {"reason": "no"}),
        ("POST", f"{batch}/mark-delivered", {"reason": "no"}),
        ("POST", f"{COMP}/vouchers/void", {"code": code, "reason": "no"}),
        ("POST", f"{batch}/issue", None),
        ("POST", f"{batch}/events", None),
        ("POST", f"{batch}/pull", None),
        ("GET", f"{batch}/vouchers.csv", None),
        ("GET", f"{batch}/reconciliation.csv", None),
    ]:
        response = await scene.client.request(method, path, json=body, headers=platform)
        _forbidden(response, needs_finance)
    refused = await scene.client.post(
        f"{API}/incidents",
        json={"name": "Fake outage", "body": "Not ours to say.", "components": {}},
        headers=platform,
    )
    _forbidden(refused, "this action needs the support role; you are platform")
    for path in (f"{API}/incidents", f"{API}/me", f"{API}/audit"):
        assert (await scene.client.get(path, headers=platform)).status_code == 403, path
    voided = await scene.client.get(
        f"{COMP}/vouchers", params={"account_id": "acc-1"}, headers=platform
    )
    assert [v["state"] for v in voided.json()] == ["issued"]  # the void above did nothing
