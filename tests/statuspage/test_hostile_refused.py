"""Text that would corrupt or disguise what we publish is refused at every door, with a 422
naming the field, never stored and never a 500."""

from __future__ import annotations

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.hostile import NAMES, REFUSED_BODIES, REFUSED_NAMES, scan
from tests.statuspage.console_helpers import PASSWORD, add_components, add_staff, csrf_of, signed_in

API = "/api/staff"


def test_the_scanner_flags_each_markup_payload_when_it_is_not_escaped() -> None:
    markup = [name for name in NAMES[:11]]
    flagged = [name for name in markup if scan(name).harmful]
    assert flagged == markup


@pytest.mark.parametrize("name", REFUSED_NAMES)
async def test_the_api_refuses_a_name_with_control_or_bidi_characters(
    client: httpx.AsyncClient, support: dict[str, str], name: str
) -> None:
    answer = await client.post(
        f"{API}/incidents", json={"name": name, "body": "Queued."}, headers=support
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "name"
    listed = await client.get(f"{API}/incidents", headers=support)
    assert listed.json() == []


@pytest.mark.parametrize("body", REFUSED_BODIES)
async def test_the_api_refuses_a_body_with_control_or_bidi_characters(
    client: httpx.AsyncClient, support: dict[str, str], body: str
) -> None:
    answer = await client.post(
        f"{API}/incidents", json={"name": "Deposits delayed", "body": body}, headers=support
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "body"


async def test_a_lone_surrogate_in_raw_json_is_refused(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    answer = await client.post(
        f"{API}/components",
        content=b'{"name": "Deposits \\ud800"}',
        headers={**support, "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "name"


async def test_a_body_keeps_its_line_breaks_as_line_feeds(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    answer = await client.post(
        f"{API}/incidents",
        json={"name": "Deposits delayed", "body": "One\r\nTwo\rThree\n\tFour"},
        headers=support,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["updates"][0]["body"] == "One\nTwo\nThree\n\tFour"


@pytest.mark.parametrize(
    "address",
    ["a\x00b@example.com", "a\x07b@example.com", "\u202emoc.live@example.com", "a\x7f@example.com"],
)
async def test_the_public_form_refuses_an_address_with_control_characters(
    client: httpx.AsyncClient, address: str
) -> None:
    answer = await client.post("/subscribe", data={"email": address, "language": "en"})
    assert answer.status_code == 422
    assert "valid email address" in answer.text
    assert scan(answer.text).harmful == []


@pytest.mark.parametrize("name", ["Deposits\x00delayed", "Deposits\r\ndelayed", "A \u202eB"])
async def test_the_console_refuses_a_name_with_control_characters(
    client: httpx.AsyncClient, database: Database, name: str
) -> None:
    ids = await add_components(database, "BTC deposits")
    csrf = await signed_in(client, database, StaffRole.support)
    component = ids["BTC deposits"]
    form = {
        "csrf": csrf,
        "name_en": name,
        "status": "investigating",
        "impact": "",
        "component_ids": str(component),
        f"status_{component}": "degraded_performance",
        "body_en": "Deposits are queued.",
    }
    answer = await client.post("/staff/incidents/new", data=form)
    assert answer.status_code == 422, answer.text
    assert "control characters" in answer.text
    dashboard = await client.get("/staff/")
    assert "Deposits" not in dashboard.text


async def test_a_sign_in_with_a_nul_in_the_address_is_a_wrong_password_not_a_500(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "ops@example.com")
    page = await client.get("/staff/login")
    answer = await client.post(
        "/staff/login",
        data={
            "csrf": csrf_of(page.text),
            "email": "ops@example.com\x00",
            "password": PASSWORD,
            "next": "",
        },
    )
    assert answer.status_code == 401
    assert scan(answer.text).harmful == []


@pytest.mark.parametrize(
    ("email", "name", "field"),
    [("new\x00@example.com", "New", "email"), ("new@example.com", "New\r\nPerson", "name")],
)
async def test_an_admin_cannot_create_staff_with_control_characters(
    client: httpx.AsyncClient, database: Database, email: str, name: str, field: str
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    answer = await client.post(
        "/staff/admin/staff",
        data={"csrf": csrf, "email": email, "name": name, "role": "support"},
    )
    assert answer.status_code == 400, answer.text
    assert f'<span class="field-error" id="{field}-error">' in answer.text
    listed = await client.get("/staff/admin/staff")
    assert "new@example.com" not in listed.text and "new\x00" not in listed.text
