"""Oversized uploads and forms are refused with 413 and a message naming the field."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from tests.compensation.helpers import COMP, HEADER, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

LIMIT = 1000
LINE = "acc-1,USDT,4.000000,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
TOO_BIG = HEADER + LINE * 20  # about 1,400 bytes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, max_upload_bytes=LIMIT)


async def test_the_api_refuses_an_events_upload_over_the_limit(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(
        await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    )
    refused = {
        "error": {
            "code": "body_too_large",
            "message": f"the upload is over the {LIMIT}-byte limit",
            "field": "file",
        }
    }
    sized = await scene.upload(batch_id, TOO_BIG)

    async def stream() -> AsyncIterator[bytes]:  # no content-length: counted as it arrives
        yield HEADER.encode()
        for _ in range(20):
            yield LINE.encode()

    chunked = await client.post(
        f"{COMP}/batches/{batch_id}/events",
        content=stream(),
        headers={**scene.drafter, "content-type": "text/csv"},
    )
    for response in (sized, chunked):
        assert response.status_code == 413, response.text
        assert response.json() == refused
    lines = await client.get(f"{COMP}/batches/{batch_id}/lines", headers=scene.drafter)
    assert lines.json() == []  # nothing of the refused uploads was kept


async def test_the_console_refuses_an_upload_or_a_form_over_the_limit(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(
        await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    )
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/finance")).text)
    upload = await client.post(
        f"/staff/finance/batches/{batch_id}/events",
        data={"csrf": csrf},
        files={"file": ("march-1.csv", TOO_BIG.encode(), "text/csv")},
    )
    assert upload.status_code == 413
    assert f"<p>file: the file is over the {LIMIT}-byte limit</p>" in upload.text
    form = await client.post("/staff/finance/policies", data={"csrf": csrf, "name": "x" * 300_000})
    assert form.status_code == 413
    assert "<p>form: the form is over the 262144-byte limit</p>" in form.text


async def test_the_sign_in_page_refuses_an_oversized_form_or_no_form(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/staff/login")
    huge = await client.post("/staff/login", data={"email": "x" * 300_000, "password": "p"})
    assert huge.status_code == 413
    assert "<p>form: the form is over the 262144-byte limit</p>" in huge.text
    json = await client.post("/staff/login", json={"email": "a@example.com"})
    assert json.status_code == 403
    assert "This address takes a form sent from the console." in json.text
