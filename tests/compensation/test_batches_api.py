"""Finance's whole path through the staff API: policy, intake, draft, four eyes, issue,
export, reconciliation; amounts checked to the last unit."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.compensation.helpers import COMP, HEADER, Scene, make_scene

REFUND_HALF = {
    "kind": "fee_refund",
    "percent": "50",
    "per_account_cap": {"USDT": "100"},
    "minimum_payout": {"BTC": "0.00000100"},
}


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


def events(scene: Scene) -> str:
    spot = "Spot trading"
    return HEADER + "\n".join(
        [
            f"acc-1,BTC,0.00010000,0.5,trade,{spot},2026-03-01T02:10:00Z",
            f"acc-1,btc,0.00005001,0.2,trade,{spot},2026-03-01T02:50:00Z",
            # 02:20 in Shanghai is the evening before: outside the window
            f"acc-1,USDT,1.5,300,withdrawal,{spot},2026-03-01T02:20:00+08:00",
            f"acc-2,USDT,2.123457,1000,trade,{scene.spot_id},2026-03-01T02:30:00Z",
            f"acc-3,USDT,9,5000,deposit,{spot},2026-03-01T02:30:00Z",
            f"acc-4,ETH,0.000000000000000001,1,trade,{spot},2026-03-01T02:59:59Z",
            f"acc-5,BTC,-1,1,trade,{spot},2026-03-01T02:30:00Z",
            f"acc-6,DOGE,1,1,trade,{spot},2026-03-01T02:30:00Z",
            "acc-7,USDT,1,1,trade,Margin,2026-03-01T02:30:00Z",
            f"acc-8,USDT,1,1,trade,{spot},2026-03-01 02:30:00",
            f"acc-9,USDT,500,1,trade,{spot},2026-03-01T02:40:00Z",
            "acc-10,USDT,4,1,trade,ETH withdrawals,2026-03-01T02:40:00Z",
            f"acc-11,USDT,4,1,trade,{spot},2026-03-01T03:00:00Z",
        ]
    )


async def test_an_upload_prices_each_account_and_reports_bad_lines_by_number(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    response = await scene.upload(batch_id, events(scene))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"], report["ineligible"]) == (9, 4, 4)
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["rejections"]] == [
        (8, "fee"),
        (9, "asset"),
        (10, "component"),
        (11, "at"),
    ]
    assert await scene.lines(batch_id) == {
        # 0.00015001 * 50% = 0.000075005, rounded down to BTC's 8 places
        ("acc-1", "BTC"): ("0.000075", "payable"),
        # 2.123457 * 50% = 1.0617285 -> 1.061728 USDT
        ("acc-2", "USDT"): ("1.061728", "payable"),
        # half a wei rounds down to nothing
        ("acc-4", "ETH"): ("0", "below_minimum"),
        ("acc-9", "USDT"): ("100", "capped"),
    }
    batch = report["batch"]
    assert batch["state"] == "draft"
    assert batch["totals"] == {
        "BTC": {"accounts": 1, "amount": "0.000075", "budget": None, "over_budget": False},
        "USDT": {"accounts": 2, "amount": "101.061728", "budget": None, "over_budget": False},
    }
    stored = await scene.client.get(f"{COMP}/batches/{batch_id}/rejections", headers=scene.drafter)
    assert [(r["source"], r["line"]) for r in stored.json()] == [
        ("day1.csv", 8),
        ("day1.csv", 9),
        ("day1.csv", 10),
        ("day1.csv", 11),
    ]


async def test_the_same_file_twice_is_refused_and_a_second_file_adds_up(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    first = HEADER + "acc-1,USDT,2,1,trade,Spot trading,2026-03-01T02:10:00Z\n"
    assert (await scene.upload(batch_id, first)).status_code == 200
    again = await scene.upload(batch_id, first, source="again.csv")
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "file"
    second = HEADER + "acc-1,USDT,0.000002,1,trade,Spot trading,2026-03-01T02:20:00Z\n"
    assert (await scene.upload(batch_id, second, source="day2.csv")).status_code == 200
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("1.000001", "payable")}


async def test_json_lines_take_exact_numbers_and_refuse_floats_that_lost_digits(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    body = "\n".join(
        [
            '{"account_id":"acc-1","asset":"ETH","fee":"0.123456789012345678","volume":"1",'
            '"kind":"trade","component":"Spot trading","at":"2026-03-01T02:10:00Z"}',
            '{"account_id":"acc-2","asset":"USDT","fee":1.5,"volume":2,"kind":"trade",'
            '"component":"Spot trading","at":"2026-03-01T02:10:00Z"}',
            "not json",
        ]
    )
    response = await scene.upload(batch_id, body, media="application/x-ndjson")
    assert response.status_code == 200, response.text
    assert [r["line"] for r in response.json()["rejections"]] == [3]
    assert await scene.lines(batch_id) == {
        ("acc-1", "ETH"): ("0.061728394506172839", "payable"),
        ("acc-2", "USDT"): ("0.75", "payable"),
    }


async def test_a_csv_without_the_needed_columns_is_refused_whole(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    response = await scene.upload(batch_id, "account,asset\nacc-1,BTC\n")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "file"
    assert "fee" in error["message"]
    assert await scene.lines(batch_id) == {}
    wrong_type = await scene.upload(batch_id, HEADER, media="application/pdf")
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["field"] == "Content-Type"


async def test_four_eyes_and_the_budget_hold_approval_back(scene: Scene) -> None:
    policy_id = await scene.policy({**REFUND_HALF, "budget": {"USDT": "100"}})
    batch_id = await scene.batch(policy_id)
    await scene.upload(batch_id, events(scene))
    own = await scene.client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.drafter)
    assert own.status_code == 409
    assert own.json()["error"] == {
        "code": "four_eyes",
        "message": f"you drafted batch {batch_id}: a second finance user must approve it",
        "field": "approved_by",
    }
    over = await scene.client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert over.status_code == 409
    assert over.json()["error"] == {
        "code": "budget_exceeded",
        "message": "USDT: the batch pays 101.061728, over the budget of 100; change the "
        "policy or its budget first",
        "field": "budget.USDT",
    }
    early = await scene.client.post(f"{COMP}/batches/{batch_id}/issue", headers=scene.drafter)
    assert early.status_code == 409
    raised = await scene.client.patch(
        f"{COMP}/policies/{policy_id}",
        json={"rules": {**REFUND_HALF, "budget": {"USDT": "150"}}},
        headers=scene.drafter,
    )
    assert raised.json()["version"] == 2
    refreshed = await scene.client.post(
        f"{COMP}/batches/{batch_id}/refresh-policy", headers=scene.drafter
    )
    assert refreshed.json()["policy_version"] == 2
    assert refreshed.json()["totals"]["USDT"]["over_budget"] is False
    approved = await scene.client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"


async def test_issuing_makes_one_voucher_per_paid_line_and_twice_adds_nothing(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    await scene.upload(batch_id, events(scene))
    issued = await scene.approve_and_issue(batch_id)
    assert issued["state"] == "issued"
    vouchers = await scene.vouchers(batch_id)
    assert sorted((v["account_id"], v["asset"], v["amount"]) for v in vouchers) == [
        ("acc-1", "BTC", "0.000075"),
        ("acc-2", "USDT", "1.061728"),
        ("acc-9", "USDT", "100"),
    ]
    assert len({v["code"] for v in vouchers}) == 3
    again = await scene.client.post(f"{COMP}/batches/{batch_id}/issue", headers=scene.approver)
    assert again.status_code == 200
    assert await scene.vouchers(batch_id) == vouchers
    second = await scene.client.post(
        f"{COMP}/batches",
        json={"incident_id": scene.incident_id, "policy_id": issued["policy_id"]},
        headers=scene.drafter,
    )
    assert second.status_code == 409
    assert second.json()["error"]["field"] == "policy_id"


async def test_the_exports_list_every_voucher_and_reconcile_per_asset(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    await scene.upload(batch_id, events(scene))
    await scene.approve_and_issue(batch_id)
    exported = await scene.client.get(
        f"{COMP}/batches/{batch_id}/vouchers.csv", headers=scene.drafter
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted((r["account_id"], r["amount"], r["state"]) for r in rows) == [
        ("acc-1", "0.000075", "issued"),
        ("acc-2", "1.061728", "issued"),
        ("acc-9", "100", "issued"),
    ]
    voided = await scene.client.post(
        f"{COMP}/vouchers/void",
        json={"code": rows[0]["code"], "reason": "account closed for fraud"},
        headers=scene.approver,
    )
    assert voided.json()["state"] == "voided"
    table = await scene.client.get(
        f"{COMP}/batches/{batch_id}/reconciliation.csv", headers=scene.drafter
    )
    found = {r["asset"]: r for r in csv.DictReader(io.StringIO(table.text))}
    voided_asset = next(r["asset"] for r in rows if r["code"] == rows[0]["code"])
    assert found["USDT"]["issued_amount"] == "101.061728"
    assert found[voided_asset]["voided_count"] == "1"
    assert found["BTC"]["issued_count"] == "1"
    log = await scene.client.get(
        "/api/staff/audit", params={"entity_type": "compensation_batch"}, headers=scene.admin
    )
    actions = [entry["action"] for entry in reversed(log.json())]
    assert actions == [
        "compensation.batch.create",
        "compensation.batch.intake",
        "compensation.batch.approve",
        "compensation.batch.issue_started",
        "compensation.batch.issue",
        "compensation.batch.export_vouchers",
        "compensation.batch.export_reconciliation",
    ]


async def test_a_pasted_list_gets_a_fixed_coupon_and_exclusions_get_nothing(
    scene: Scene,
) -> None:
    coupon = {"kind": "coupon", "asset": "USDT", "amount": "10", "exclusions": ["acc-3"]}
    batch_id = await scene.batch(await scene.policy(coupon, name="10 USDT coupon"))
    pasted = await scene.client.post(
        f"{COMP}/batches/{batch_id}/accounts",
        json={"account_ids": ["acc-1", "acc-2", "acc-3", "acc-1"]},
        headers=scene.drafter,
    )
    assert pasted.status_code == 200, pasted.text
    assert await scene.lines(batch_id) == {
        ("acc-1", "USDT"): ("10", "payable"),
        ("acc-2", "USDT"): ("10", "payable"),
        ("acc-3", "USDT"): ("0", "excluded"),
    }
    assert pasted.json()["totals"]["USDT"]["amount"] == "20"


async def test_coupon_tiers_follow_the_affected_volume(scene: Scene) -> None:
    tiers = {
        "kind": "coupon",
        "asset": "USDT",
        "tiers": [{"at_least": "1000", "amount": "5"}, {"at_least": "10000", "amount": "20"}],
    }
    batch_id = await scene.batch(await scene.policy(tiers, name="Tiered coupon"))
    body = HEADER + "\n".join(
        [
            "acc-1,USDT,1,600,trade,Spot trading,2026-03-01T02:10:00Z",
            "acc-1,USDT,1,600,trade,Spot trading,2026-03-01T02:20:00Z",
            "acc-2,USDT,1,10000,withdrawal,Spot trading,2026-03-01T02:20:00Z",
            "acc-3,USDT,1,999.99,trade,Spot trading,2026-03-01T02:20:00Z",
            "acc-4,BTC,0.1,50000,trade,Spot trading,2026-03-01T02:20:00Z",
        ]
    )
    await scene.upload(batch_id, body)
    assert await scene.lines(batch_id) == {
        ("acc-1", "USDT"): ("5", "payable"),
        ("acc-2", "USDT"): ("20", "payable"),
        ("acc-3", "USDT"): ("0", "below_minimum"),
    }


async def test_the_batch_needs_a_resolved_incident_and_finance(scene: Scene) -> None:
    policy_id = await scene.policy(REFUND_HALF)
    open_incident = await scene.client.post(
        "/api/staff/incidents",
        json={"name": "Still down", "body": "Looking.", "components": {}},
        headers=scene.support,
    )
    refused = await scene.client.post(
        f"{COMP}/batches",
        json={"incident_id": open_incident.json()["id"], "policy_id": policy_id},
        headers=scene.drafter,
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "incident_id"
    batch_id = await scene.batch(policy_id)
    for method, path in [
        ("POST", f"{COMP}/batches/{batch_id}/events"),
        ("POST", f"{COMP}/batches/{batch_id}/pull"),
        ("POST", f"{COMP}/batches/{batch_id}/issue"),
        ("GET", f"{COMP}/batches/{batch_id}/vouchers.csv"),
        ("GET", f"{COMP}/batches/{batch_id}/reconciliation.csv"),
    ]:
        denied = await scene.client.request(method, path, headers=scene.support)
        assert denied.status_code == 403, path
        assert denied.json()["error"]["message"] == (
            "this action needs the finance role; you are support"
        )
        anonymous = await scene.client.request(method, path)
        assert anonymous.status_code == 401, path
        missing = await scene.client.request(
            method,
            path.replace(f"/{batch_id}/", "/2147483647/"),
            headers=scene.drafter,
            content=b"{}" if path.endswith("pull") else HEADER.encode(),
        )
        assert missing.status_code == 404, (path, missing.text)


async def test_cancelled_batches_issue_nothing(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    await scene.upload(batch_id, events(scene))
    cancelled = await scene.client.post(
        f"{COMP}/batches/{batch_id}/cancel",
        json={"reason": "wrong incident"},
        headers=scene.approver,
    )
    assert cancelled.json()["state"] == "cancelled"
    issued = await scene.client.post(f"{COMP}/batches/{batch_id}/issue", headers=scene.drafter)
    assert issued.status_code == 409
    assert await scene.vouchers(batch_id) == []


async def test_an_incident_with_its_postmortem_written_can_still_be_compensated(
    scene: Scene,
) -> None:
    written = await scene.client.put(
        f"/api/staff/incidents/{scene.incident_id}/postmortem",
        json={"body": "A matching engine node ran out of memory."},
        headers=scene.admin,
    )
    assert written.json()["status"] == "postmortem"
    batch_id = await scene.batch(await scene.policy(REFUND_HALF))
    await scene.upload(batch_id, events(scene))
    assert (await scene.lines(batch_id))[("acc-9", "USDT")] == ("100", "capped")


async def test_the_streaming_routes_refuse_a_query_they_do_not_take_as_every_route_does(
    scene: Scene,
) -> None:
    """Found once they were in the OpenAPI document (the staff-access walk sends every GET
    an unknown parameter): they ignored unknown and NUL-bearing query parameters, so a typo
    (`?sorce=`) was taken silently where every other staff route answers 422."""
    batch_id = await scene.batch(await scene.policy({"kind": "fee_refund", "percent": "100"}))
    line = "acc-1,USDT,1.5,10,trade,Spot trading,2026-03-01T02:30:00Z\n"
    typo = await scene.client.post(
        f"{COMP}/batches/{batch_id}/events",
        params={"sorce": "day1.csv"},
        content=(HEADER + line).encode(),
        headers={**scene.drafter, "content-type": "text/csv"},
    )
    assert typo.status_code == 422, typo.text
    assert typo.json()["error"]["message"] == "sorce: Extra inputs are not permitted"
    nul = await scene.upload(batch_id, HEADER + line, source="day\x001.csv")
    assert nul.status_code == 422, nul.text
    assert nul.json()["error"]["message"] == "source: must not contain NUL characters"
    assert await scene.lines(batch_id) == {}  # neither upload was taken
    for method, path in [
        ("POST", "pull"),
        ("POST", "issue"),
        ("GET", "vouchers.csv"),
        ("GET", "reconciliation.csv"),
    ]:
        response = await scene.client.request(
            method, f"{COMP}/batches/{batch_id}/{path}?x=1", headers=scene.drafter
        )
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["field"] == "x"
        assert response.json()["error"]["message"] == "x: this endpoint takes no query parameters"
