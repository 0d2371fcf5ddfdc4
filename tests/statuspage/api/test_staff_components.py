"""Support arranges components in groups, orders them and sets a status by hand."""

from __future__ import annotations

import httpx

API = "/api/staff"


async def test_groups_and_components_keep_their_order(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    deposits = (
        await client.post(f"{API}/groups", json={"name": "Deposits"}, headers=support)
    ).json()
    trading = (
        await client.post(
            f"{API}/groups",
            json={"name": "Trading", "translations": {"zh-CN": {"name": "交易"}}},
            headers=support,
        )
    ).json()
    assert (deposits["position"], trading["position"]) == (0, 1)
    assert trading["translations"] == {"zh-CN": {"name": "交易", "description": ""}}

    ids = []
    for name in ("BTC deposits", "ETH deposits", "USDT deposits"):
        response = await client.post(
            f"{API}/components", json={"name": name, "group_id": deposits["id"]}, headers=support
        )
        ids.append(response.json()["id"])
    reordered = await client.post(
        f"{API}/components/reorder", json={"ids": [ids[2], ids[0], ids[1]]}, headers=support
    )
    assert [c["name"] for c in reordered.json()] == [
        "USDT deposits",
        "BTC deposits",
        "ETH deposits",
    ]

    groups = await client.post(
        f"{API}/groups/reorder", json={"ids": [trading["id"], deposits["id"]]}, headers=support
    )
    assert [g["name"] for g in groups.json()] == ["Trading", "Deposits"]

    duplicate = await client.post(f"{API}/groups/reorder", json={"ids": [1, 1]}, headers=support)
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["field"] == "ids"


async def test_component_moves_between_groups_and_out_of_them(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    group = (await client.post(f"{API}/groups", json={"name": "API"}, headers=support)).json()
    component = (
        await client.post(
            f"{API}/components", json={"name": "REST API", "group_id": group["id"]}, headers=support
        )
    ).json()
    url = f"{API}/components/{component['id']}"
    ungrouped = await client.patch(url, json={"group_id": None}, headers=support)
    assert ungrouped.json()["group_id"] is None
    renamed = await client.patch(
        url, json={"name": "Public REST API", "showcase": False}, headers=support
    )
    assert (renamed.json()["name"], renamed.json()["showcase"], renamed.json()["group_id"]) == (
        "Public REST API",
        False,
        None,
    )
    missing = await client.patch(url, json={"group_id": 999999}, headers=support)
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "group_id"


async def test_status_set_by_hand_combines_with_incidents(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    component = (
        await client.post(f"{API}/components", json={"name": "Mobile app"}, headers=support)
    ).json()
    url = f"{API}/components/{component['id']}"
    manual = await client.patch(url, json={"status": "degraded_performance"}, headers=support)
    assert (manual.json()["status"], manual.json()["manual_status"]) == (
        "degraded_performance",
        "degraded_performance",
    )
    opened = await client.post(
        f"{API}/incidents",
        json={
            "name": "App down",
            "body": "x",
            "components": {str(component["id"]): "major_outage"},
        },
        headers=support,
    )
    assert (await client.get(url, headers=support)).json()["status"] == "major_outage"
    await client.post(
        f"{API}/incidents/{opened.json()['id']}/resolve", json={"body": "ok"}, headers=support
    )
    assert (await client.get(url, headers=support)).json()["status"] == "degraded_performance"
    cleared = await client.patch(url, json={"status": "operational"}, headers=support)
    assert cleared.json()["status"] == "operational"
