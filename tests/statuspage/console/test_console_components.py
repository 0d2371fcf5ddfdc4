"""The console's components page: groups and components created, edited in both languages,
ordered, showcased and set by hand, as the public page and its API then show them."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.statuspage.console_helpers import add_components, signed_in


async def _public_components(client: httpx.AsyncClient) -> list[dict[str, object]]:
    answer = await client.get("/api/v2/components.json")
    assert answer.status_code == 200
    components: list[dict[str, object]] = answer.json()["components"]
    return components


async def test_support_adds_a_group_and_a_component_the_public_api_lists(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    group = await client.post(
        "/staff/groups",
        data={"csrf": csrf, "name_en": "Withdrawals", "name_zh-CN": "提现"},
    )
    assert group.status_code == 303
    assert group.headers["location"] == "/staff/components?done=group_created"
    page = await client.get("/staff/components")
    group_id = re.search(r'<a href="/staff/groups/(\d+)">Withdrawals</a>', page.text)
    assert group_id is not None, page.text
    made = await client.post(
        "/staff/components",
        data={
            "csrf": csrf,
            "name_en": "BTC withdrawals",
            "description_en": "Sending bitcoin out",
            "name_zh-CN": "BTC 提现",
            "group_id": group_id.group(1),
            "showcase": "on",
        },
    )
    assert made.status_code == 303
    shown = await client.get(made.headers["location"])
    assert "The component is added." in shown.text
    assert "BTC withdrawals" in shown.text and "BTC 提现" in shown.text
    listed = {item["name"]: item for item in await _public_components(client)}
    assert listed["Withdrawals"]["group"] is True
    assert listed["BTC withdrawals"]["group_id"] == listed["Withdrawals"]["id"]
    assert listed["BTC withdrawals"]["description"] == "Sending bitcoin out"
    chinese = await client.get("/?lang=zh-CN")
    assert "BTC 提现" in chinese.text
    async with database.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["group.create", "component.create"]


async def test_a_bad_component_is_refused_naming_the_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    empty = await client.post(
        "/staff/components", data={"csrf": csrf, "name_en": "", "description_zh-CN": "说明"}
    )
    assert empty.status_code == 422
    assert 'id="component.name-error">Name is required' in empty.text
    assert 'id="component.translations.zh-CN.name-error">Name is required' in empty.text
    assert 'value="说明"' not in empty.text  # a textarea keeps it as text
    assert ">说明</textarea>" in empty.text
    unknown = await client.post(
        "/staff/components", data={"csrf": csrf, "name_en": "Spot", "group_id": "999"}
    )
    assert unknown.status_code == 404
    assert "component group 999 does not exist" in unknown.text
    assert await _public_components(client) == []


async def test_editing_a_component_moves_it_and_sets_its_status_by_hand(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, "Spot trading", "Futures trading")
    csrf = await signed_in(client, database, StaffRole.support)
    spot = f"/staff/components/{ids['Spot trading']}"
    form = await client.get(spot)
    assert form.status_code == 200 and 'value="Spot trading"' in form.text
    assert '<option value="partial_outage" >Partial outage</option>' in form.text
    edited = await client.post(
        spot,
        data={
            "csrf": csrf,
            "name_en": "Spot trading (all pairs)",
            "name_zh-CN": "现货交易",
            "description_zh-CN": "全部交易对",
            "status": "partial_outage",
            "showcase": "on",
        },
    )
    assert edited.status_code == 303, edited.text
    listed = {item["name"]: item for item in await _public_components(client)}
    assert listed["Spot trading (all pairs)"]["status"] == "partial_outage"
    page = await client.get("/staff/components")
    assert "Partial outage" in page.text and "partial_outage" not in page.text
    status = await client.get("/api/v2/status.json")
    assert status.json()["status"]["indicator"] == "major"
    back = await client.post(spot, data={"csrf": csrf, "name_en": "Spot", "status": "operational"})
    assert back.status_code == 303
    assert (await client.get("/api/v2/status.json")).json()["status"]["indicator"] == "none"
    wrong = await client.post(spot, data={"csrf": csrf, "name_en": "Spot", "status": "down"})
    assert wrong.status_code == 422 and 'id="status-error">' in wrong.text


async def test_reordering_and_showcasing_change_the_public_list(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, "Deposits", "Withdrawals", "Trading")
    csrf = await signed_in(client, database, StaffRole.support)
    moved = await client.post(
        f"/staff/components/{ids['Trading']}/move", data={"csrf": csrf, "direction": "up"}
    )
    assert moved.status_code == 303
    await client.post(
        f"/staff/components/{ids['Trading']}/move", data={"csrf": csrf, "direction": "up"}
    )
    order = [item["name"] for item in await _public_components(client)]
    assert order == ["Trading", "Deposits", "Withdrawals"]
    hidden = await client.post(f"/staff/components/{ids['Deposits']}/showcase", data={"csrf": csrf})
    assert hidden.status_code == 303
    listed = {item["name"]: item for item in await _public_components(client)}
    assert listed["Deposits"]["showcase"] is False and listed["Trading"]["showcase"] is True
    subscribe = await client.get("/subscribe")
    assert "Trading" in subscribe.text and "Deposits" not in subscribe.text
    async with database.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["component.reorder", "component.reorder", "component.edit"]


async def test_finance_sees_the_components_but_cannot_change_them(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, "Deposits")
    csrf = await signed_in(client, database, StaffRole.finance)
    page = await client.get("/staff/components")
    assert page.status_code == 200 and "Deposits" in page.text
    assert "Add a component" not in page.text
    refused = await client.post(
        f"/staff/components/{ids['Deposits']}/showcase", data={"csrf": csrf}
    )
    assert refused.status_code == 403


async def test_a_form_without_the_sessions_token_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    await signed_in(client, database, StaffRole.support)
    forged = await client.post("/staff/groups", data={"csrf": "forged", "name_en": "Fake"})
    assert forged.status_code == 403
    assert await _public_components(client) == []
