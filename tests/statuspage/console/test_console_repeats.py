"""The console's upload says how many events were already taken, and where they first came."""

from __future__ import annotations

import httpx

from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation.helpers import HEADER, REFUND_ALL, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

ROWS = (
    "acc-1,USDT,4,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
    "acc-2,USDT,1,100,trade,Spot trading,2026-03-01T02:20:00Z\n"
)


async def test_an_upload_of_events_already_taken_reports_them_and_pays_nothing_more(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/finance")).text)
    batch_url = f"/staff/finance/batches/{await scene.batch(await scene.policy(REFUND_ALL))}"
    first = {"file": ("march-1.csv", (HEADER + ROWS).encode(), "text/csv")}
    uploaded = await client.post(batch_url + "/events", data={"csrf": csrf}, files=first)
    assert "Took march-1.csv: 2 events accepted, 0 left out, 0 lines refused." in uploaded.text
    again = (HEADER + ROWS).replace("\n", "\r\n").encode()
    second = {"file": ("march-1-crlf.csv", again, "text/csv")}
    repeated = await client.post(batch_url + "/events", data={"csrf": csrf}, files=second)
    assert repeated.status_code == 200, repeated.text
    assert (
        "Took march-1-crlf.csv: 0 events accepted, 0 left out, 0 lines refused; "
        "2 events were already taken and are not counted again." in repeated.text
    )
    assert '<td class="num">2</td><td>march-1.csv, line 2</td>' in repeated.text
    assert '<tr><td>USDT</td><td class="num">2</td><td class="num">5</td>' in repeated.text
