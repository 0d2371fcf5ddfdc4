"""Support marks a component as standing for one asset's deposits or withdrawals on a network."""

from __future__ import annotations

import httpx

API = "/api/staff"

USDT_TRC20_OUT = {"asset": "USDT", "network": "TRC20", "direction": "withdrawal"}


async def test_a_component_stands_for_a_network_and_can_stop_doing_so(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    created = await client.post(
        f"{API}/components",
        json={"name": "USDT-TRC20 withdrawals", **USDT_TRC20_OUT},
        headers=support,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["asset"], body["network"], body["direction"]) == ("USDT", "TRC20", "withdrawal")

    moved = await client.patch(
        f"{API}/components/{body['id']}", json={"network": "ERC20"}, headers=support
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["network"] == "ERC20"

    cleared = await client.patch(
        f"{API}/components/{body['id']}",
        json={"asset": None, "network": None, "direction": None},
        headers=support,
    )
    assert (cleared.json()["asset"], cleared.json()["direction"]) == (None, None)


async def test_asset_network_and_direction_go_together(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    half = await client.post(
        f"{API}/components", json={"name": "USDT", "asset": "USDT"}, headers=support
    )
    assert half.status_code == 422
    assert "network" in half.json()["error"]["message"]

    plain = await client.post(f"{API}/components", json={"name": "API"}, headers=support)
    dropped = await client.patch(
        f"{API}/components/{plain.json()['id']}", json={"direction": "deposit"}, headers=support
    )
    assert dropped.status_code == 422
    assert dropped.json()["error"]["field"] == "asset"


async def test_a_lowercase_asset_or_unknown_direction_is_refused_by_name(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    for field, value in (("asset", "usdt"), ("direction", "sideways"), ("network", "a/b")):
        response = await client.post(
            f"{API}/components",
            json={"name": "x", **USDT_TRC20_OUT, field: value},
            headers=support,
        )
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field


async def test_two_components_cannot_stand_for_the_same_network_and_way(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    first = await client.post(
        f"{API}/components", json={"name": "one", **USDT_TRC20_OUT}, headers=support
    )
    assert first.status_code == 201
    second = await client.post(
        f"{API}/components", json={"name": "two", **USDT_TRC20_OUT}, headers=support
    )
    assert second.status_code == 409
    assert second.json()["error"]["field"] == "asset"
    assert (
        f"component {first.json()['id']} already stands for USDT on TRC20"
        in (second.json()["error"]["message"])
    )
    deposits = await client.post(
        f"{API}/components",
        json={"name": "in", **USDT_TRC20_OUT, "direction": "deposit"},
        headers=support,
    )
    assert deposits.status_code == 201
