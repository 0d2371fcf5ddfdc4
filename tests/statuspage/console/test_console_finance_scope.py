"""Finance sees what a batch covers (issue 17, item 7): its scope, the incident's timeline read
only, the intake's accepted, left out (each with its reason, as CSV too) and refused lines, and a
sample file that the intake itself takes."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation.helpers import HEADER, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

EVENTS = HEADER + (
    "acc-1,USDT,4,100,trade,Spot trading,2026-03-01T02:10:00Z\n"  # accepted
    "acc-2,USDT,2,100,trade,spot trading,2026-03-01T03:20:00Z\n"  # in the grace: accepted
    "acc-3,USDT,1,100,withdrawal,Spot trading,2026-03-01T02:10:00Z\n"  # kind: left out
    "acc-4,USDT,1,100,trade,Spot trading,2026-03-01T04:00:00Z\n"  # time: left out
    "acc-5,USDT,1,100,trade,ETH withdrawals,2026-03-01T02:10:00Z\n"  # component: left out
    "acc-6,USDT,x,100,trade,Spot trading,2026-03-01T02:10:00Z\n"  # refused
)
POLICY = {
    "kind": "fee_refund",
    "percent": "50",
    "grace_after_minutes": 30,
    "event_kinds": ["trade"],
}


async def _finance(client: httpx.AsyncClient, database: Database) -> str:
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    return csrf_of((await client.get("/staff/finance")).text)


async def _drafted(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> tuple[str, int, str]:
    """A finance user signed in, and a draft under POLICY: their form token, its id and page."""
    scene = await make_scene(client, make_token)
    csrf = await _finance(client, database)
    batch_id = await scene.batch(await scene.policy(POLICY, name="Half back"))
    return csrf, batch_id, f"/staff/finance/batches/{batch_id}"


async def test_the_batch_page_shows_its_scope_and_the_intake_line_by_line(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    csrf, batch_id, url = await _drafted(client, database, make_token)
    page = (await client.get(url)).text
    assert "<h1>Spot trading halted · Half back <span" in page  # by name, not "batch 1"
    assert (
        "<tr><td>Spot trading</td>\n<td>2026-03-01 02:00 to 2026-03-01 03:00</td>\n"
        "<td>2026-03-01 02:00 to 2026-03-01 03:30</td></tr>"
    ) in page
    assert "Grace: 0 minutes before the impact, 30 minutes after." in page
    assert "Events: Trades." in page and "Pays in the asset of each fee." in page
    chinese = (await client.get(url, headers={"accept-language": "zh-CN"})).text
    assert "<h2>本批次的范围</h2>" in chinese
    assert "宽限时间：影响开始前 0 分钟，结束后 30 分钟。" in chinese
    assert "返还影响时段内所付手续费的 50%，按每笔手续费的原资产发放。" in chinese

    taken = await client.post(
        url + "/events", data={"csrf": csrf}, files={"file": ("day.csv", EVENTS, "text/csv")}
    )
    assert taken.status_code == 200, taken.text
    assert "Took day.csv: 2 events accepted, 3 left out, 1 line refused." in taken.text
    assert "Intake so far: 2 events accepted, 3 left out, 1 line refused; from: day.csv." in (
        taken.text
    )
    assert (
        '<td class="num">4</td><td>acc-3</td><td>The policy does not count this kind of event'
        in taken.text
    )

    download = await client.get(url + "/left-out.csv")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="batch-{batch_id}-left-out.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["line"], r["account_id"], r["reason_code"], r["reason"]) for r in rows] == [
        ("4", "acc-3", "kind", "The policy does not count this kind of event"),
        ("5", "acc-4", "time", "Outside the component's impact window, grace included"),
        ("6", "acc-5", "component", "The component is outside the batch's scope"),
    ]
    chinese_csv = await client.get(url + "/left-out.csv", headers={"accept-language": "zh-CN"})
    assert "政策不计入这类事件" in chinese_csv.text
    refused = list(csv.DictReader(io.StringIO((await client.get(url + "/refused.csv")).text)))
    assert [(r["line"], r["reason"][:4]) for r in refused] == [("7", "fee:")]
    async with database.sessionmaker() as session:
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"compensation.batch.export_left_out", "compensation.batch.export_refused"} <= actions


async def test_the_sample_file_names_the_batch_s_components_and_loads_as_it_is(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    csrf, _, url = await _drafted(client, database, make_token)
    page = (await client.get(url)).text
    assert f'<a href="{url}/sample.csv" download>' in page
    assert "The component&#39;s id or its name as on the status page" in page or (
        "The component's id or its name as on the status page" in page
    )
    sample = await client.get(url + "/sample.csv")
    assert sample.status_code == 200
    assert sample.text.splitlines() == [
        "account_id,asset,fee,volume,kind,component,at,event_id",
        "example-1,USDT,1.5,100,trade,Spot trading,2026-03-01T02:45:00Z,sample-1",
    ]
    taken = await client.post(
        url + "/events", data={"csrf": csrf}, files={"file": ("s.csv", sample.text, "text/csv")}
    )
    assert "Took s.csv: 1 event accepted, 0 left out, 0 lines refused." in taken.text


async def test_finance_reads_the_incident_timeline_without_support_s_forms(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    await _finance(client, database)
    support_page = await client.get(f"/staff/incidents/{scene.incident_id}")
    assert support_page.status_code == 403  # support's page stays support's
    page = await client.get(f"/staff/finance/incidents/{scene.incident_id}")
    assert page.status_code == 200
    assert "<h1>Spot trading halted</h1>" in page.text
    assert "Orders are not matched." in page.text and "Matching is back." in page.text
    assert "Spot trading: Operational → Major outage" in page.text
    assert "<strong>Resolved</strong>" in page.text
    assert 'action="/staff/incidents/' not in page.text  # read only: no update, resolve, ...


async def test_values_read_as_words_not_as_stored_names(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    csrf = await _finance(client, database)
    floor = {"kind": "fee_refund", "percent": "10", "minimum_payout": {"USDT": "1"}}
    url = f"/staff/finance/batches/{await scene.batch(await scene.policy(floor, name='Floor'))}"
    tiny = HEADER + "acc-1,USDT,2,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
    await client.post(url + "/events", data={"csrf": csrf}, files={"file": ("t.csv", tiny)})
    page = (await client.get(url)).text
    assert '<td class="num">0</td><td>Below the minimum</td>' in page
    assert "Nothing is paid below 1 USDT." in page
    overview = (await client.get("/staff/finance")).text
    assert f'<a href="{url}">Spot trading halted · Floor</a>' in overview
    assert "<td>Draft</td>" in overview and "Fee refund" in overview
    for raw in ("below_minimum", "fee_refund<", ">draft<", "{&#34;", '{"kind"'):
        assert raw not in page + overview, raw
