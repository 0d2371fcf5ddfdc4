"""The finance console: policy, draft, upload with a rejection report, four eyes, issue, export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from compensation.models import Batch, BatchState, Voucher, VoucherState
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation.helpers import HEADER, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

EVENTS = HEADER + (
    "acc-1,USDT,4.000000,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
    "acc-2,USDT,10.000000,500,trade,Spot trading,2026-03-01T02:20:00Z\n"
    "acc-3,USDT,not-a-number,1,trade,Spot trading,2026-03-01T02:30:00Z\n"
    "acc-4,USDT,3.000000,50,trade,Spot trading,2026-03-01T05:00:00Z\n"
)


@pytest.fixture
async def second(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser: the second finance user's own cookies."""
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        yield other


async def _finance_user(client: httpx.AsyncClient, database: Database, email: str) -> str:
    await add_staff(database, StaffRole.finance, email)
    assert (await sign_in(client, email)).status_code == 303
    return csrf_of((await client.get("/staff/finance")).text)


async def test_a_batch_from_upload_to_issue_with_a_second_approver(
    client: httpx.AsyncClient,
    second: httpx.AsyncClient,
    database: Database,
    make_token: MakeToken,
) -> None:
    scene = await make_scene(client, make_token)
    csrf = await _finance_user(client, database, "fin-a@example.com")
    policy = await client.post(
        "/staff/finance/policies",
        data={
            "csrf": csrf,
            "name": "Half the fees back",
            "kind": "fee_refund",
            "percent": "50",
            "per_account_cap": "USDT=100",
            "minimum_payout": "USDT=1",
            "budget": "USDT=50000",
            "event_kinds": ["trade", "withdrawal"],
            "validity_days": "90",
        },
    )
    assert policy.status_code == 303, policy.text
    overview = await client.get("/staff/finance")
    assert "Half the fees back (version 1, Fee refund)" in overview.text
    assert "Refunds 50% of the fees paid in the affected window" in overview.text
    assert "At most 100 USDT per account." in overview.text  # the rules in words, not JSON
    policy_id = overview.text.split('<option value="')[2].split('"')[0]
    drafted = await client.post(
        "/staff/finance/batches",
        data={"csrf": csrf, "incident_id": str(scene.incident_id), "policy_id": policy_id},
    )
    assert drafted.status_code == 303, drafted.text
    batch_url = drafted.headers["location"].split("?")[0]
    uploaded = await client.post(
        batch_url + "/events",
        data={"csrf": csrf},
        files={"file": ("march-1.csv", EVENTS.encode(), "text/csv")},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert "Took march-1.csv: 2 events accepted, 1 left out, 1 line refused." in uploaded.text
    assert '<td>march-1.csv</td><td class="num">4</td>' in uploaded.text  # refused
    assert (
        '<td>march-1.csv</td><td class="num">5</td><td>acc-4</td>'
        "<td>Outside the component's impact window, grace included</td>" in uploaded.text
    )  # 05:00 is after the impact: left out, with its reason
    totals = (
        '<tr><td>USDT</td><td class="num">2</td><td class="num">7</td><td class="num">50000</td>'
    )
    assert totals in uploaded.text  # two accounts: half of 4 and half of 10
    assert (
        '<td>acc-2</td><td>USDT</td><td class="num">1</td><td class="num">10</td>' in uploaded.text
    )
    again = await client.post(
        batch_url + "/events",
        data={"csrf": csrf},
        files={"file": ("again.csv", EVENTS.encode(), "text/csv")},
    )
    assert again.status_code == 409
    assert "this file was already taken into batch" in again.text
    own = await client.post(batch_url + "/approve", data={"csrf": csrf})
    assert own.status_code == 409
    assert "drafted" in own.text
    csrf_b = await _finance_user(second, database, "fin-b@example.com")
    approved = await second.post(batch_url + "/approve", data={"csrf": csrf_b})
    assert approved.status_code == 303
    asked = await client.post(batch_url + "/issue", data={"csrf": csrf})
    assert asked.status_code == 200
    assert "Issue the vouchers of this batch?" in asked.text
    async with database.sessionmaker() as session:
        still = await session.scalar(select(Batch))
        assert still is not None and still.state == BatchState.approved  # asked, not issued
    issued = await client.post(batch_url + "/issue", data={"csrf": csrf, "confirmed": "yes"})
    assert issued.status_code == 303
    page = await client.get(batch_url)
    assert "approved by fin-b@example.com" in page.text
    download = await client.get(batch_url + "/vouchers.csv")
    assert download.status_code == 200
    assert download.headers["content-disposition"].endswith('-vouchers.csv"')
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted((row["account_id"], row["amount"]) for row in rows) == [
        ("acc-1", "2"),
        ("acc-2", "5"),
    ]
    reconciliation = await client.get(batch_url + "/reconciliation.csv")
    assert reconciliation.status_code == 200
    assert "USDT" in reconciliation.text
    void = {"csrf": csrf, "code": rows[0]["code"].lower(), "reason": "duplicate account"}
    asked = await client.post(batch_url + "/void", data=void)
    assert asked.status_code == 200 and "Void this voucher?" in asked.text
    assert f"{rows[0]['code']} · {rows[0]['account_id']} · {rows[0]['amount']} USDT" in asked.text
    voided = await client.post(batch_url + "/void", data={**void, "confirmed": "yes"})
    assert voided.status_code == 303
    no_note = await client.post(batch_url + "/delivered", data={"csrf": csrf, "note": ""})
    assert no_note.status_code == 422
    assert (
        '<span class="field-error" id="note-error">say how the vouchers were credited'
        in no_note.text
    )
    delivered = await client.post(
        batch_url + "/delivered", data={"csrf": csrf, "note": "ops ticket 4211"}
    )
    assert delivered.status_code == 303
    async with database.sessionmaker() as session:
        batch = await session.scalar(select(Batch))
        assert batch is not None and batch.state == BatchState.delivered
        voucher = await session.scalar(select(Voucher).where(Voucher.code == rows[0]["code"]))
        assert voucher is not None
        assert (voucher.state, voucher.void_reason) == (VoucherState.voided, "duplicate account")


async def test_a_policy_form_error_names_its_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await _finance_user(client, database, "fin-a@example.com")
    answer = await client.post(
        "/staff/finance/policies",
        data={
            "csrf": csrf,
            "name": "Bad",
            "kind": "fee_refund",
            "percent": "150",
            "event_kinds": "trade",
        },
    )
    assert answer.status_code == 422
    assert (
        '<span class="field-error" id="percent-error">'
        "Percent must be at most 100</span>" in answer.text
    )
    caps = await client.post(
        "/staff/finance/policies",
        data={
            "csrf": csrf,
            "name": "Bad",
            "kind": "fee_refund",
            "percent": "50",
            "per_account_cap": "100 USDT",
            "event_kinds": "trade",
        },
    )
    assert caps.status_code == 422
    assert "write amounts as ASSET=amount, e.g. USDT=100" in caps.text


async def test_clearing_a_draft_s_intake_lets_the_same_file_in_again(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    csrf = await _finance_user(client, database, "fin-a@example.com")
    policy_id = await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    batch_url = f"/staff/finance/batches/{await scene.batch(policy_id)}"
    upload = {"file": ("march-1.csv", EVENTS.encode(), "text/csv")}
    assert (
        await client.post(batch_url + "/events", data={"csrf": csrf}, files=upload)
    ).status_code == 200
    cleared = await client.post(batch_url + "/clear", data={"csrf": csrf})
    assert cleared.status_code == 303
    page = await client.get(cleared.headers["location"])
    assert "The intake is cleared: load the events again." in page.text
    assert "Nothing yet: upload the platform" in page.text
    again = await client.post(batch_url + "/events", data={"csrf": csrf}, files=upload)
    assert again.status_code == 200
    assert '<tr><td>USDT</td><td class="num">2</td><td class="num">10</td>' in again.text
