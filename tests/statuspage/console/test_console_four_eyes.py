"""The console's Approve button follows four eyes: who drafted or filled the batch sees no
Approve button but the reason, and the server refuses their approval regardless."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation.helpers import HEADER, REFUND_ALL, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

EVENTS = HEADER + "acc-1,USDT,4,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
_APPROVE = re.compile(r'<button type="submit"[^>]*>Approve')


def _browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


@pytest.fixture
async def browsers(client: httpx.AsyncClient) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with _browser(client) as a, _browser(client) as b, _browser(client) as c:
        yield [a, b, c]


async def _signed_in(browser: httpx.AsyncClient, database: Database, email: str) -> str:
    await add_staff(database, StaffRole.finance, email)
    assert (await sign_in(browser, email)).status_code == 303
    return csrf_of((await browser.get("/staff/finance")).text)


def _approve_button(html: str) -> tuple[bool, str]:
    """Whether the page has an Approve button, and the reason it shows instead."""
    reason = re.search(r'<p class="muted" id="four-eyes">([^<]*)</p>', html)
    return _APPROVE.search(html) is not None, unescape(reason.group(1)) if reason else ""


async def test_who_prepared_the_batch_sees_why_instead_of_an_approve_button(
    client: httpx.AsyncClient,
    browsers: list[httpx.AsyncClient],
    database: Database,
    make_token: MakeToken,
) -> None:
    scene = await make_scene(client, make_token)
    policy_id = await scene.policy(REFUND_ALL)
    drafter, loader, checker = browsers
    csrf_a = await _signed_in(drafter, database, "fin-a@example.com")
    csrf_b = await _signed_in(loader, database, "fin-b@example.com")
    csrf_c = await _signed_in(checker, database, "fin-c@example.com")
    drafted = await drafter.post(
        "/staff/finance/batches",
        data={"csrf": csrf_a, "incident_id": str(scene.incident_id), "policy_id": str(policy_id)},
    )
    assert drafted.status_code == 303, drafted.text
    batch_url = drafted.headers["location"].split("?")[0]
    batch_id = batch_url.rsplit("/", 1)[1]
    uploaded = await loader.post(
        batch_url + "/events",
        data={"csrf": csrf_b},
        files={"file": ("march-1.csv", EVENTS.encode(), "text/csv")},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert _approve_button((await drafter.get(batch_url)).text) == (
        False,
        "You drafted this batch: a second finance user must approve it.",
    )
    loaded = "You loaded this batch's events: a second finance user must approve it."
    assert _approve_button(uploaded.text) == (False, loaded)
    assert _approve_button((await loader.get(batch_url)).text) == (False, loaded)
    loaded_message = (  # the server's own refusal, as the API gives it
        f"you loaded the events of batch {batch_id}: a second finance user must approve it"
    )
    assert _approve_button((await checker.get(batch_url)).text) == (True, "")
    refused = await loader.post(batch_url + "/approve", data={"csrf": csrf_b})
    assert refused.status_code == 409
    assert loaded_message in refused.text
    approved = await checker.post(batch_url + "/approve", data={"csrf": csrf_c})
    assert approved.status_code == 303, approved.text
    assert "approved by fin-c@example.com" in (await drafter.get(batch_url)).text
