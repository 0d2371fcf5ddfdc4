"""Editing a maintenance chooses its components as creating one does (issue 18): by id, by
network, by asset, in one direction; what the edit names is exactly what it then covers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.statuspage.api.test_maintenance_by_network import API, _components, _upgrade


async def _edit(
    client: httpx.AsyncClient, support: dict[str, str], maintenance_id: int, **body: Any
) -> httpx.Response:
    return await client.patch(f"{API}/maintenances/{maintenance_id}", json=body, headers=support)


async def test_an_edit_moves_a_maintenance_to_another_network_and_direction(
    client: httpx.AsyncClient, support: dict[str, str], admin: dict[str, str]
) -> None:
    ids = await _components(client, support)
    made = await client.post(
        f"{API}/maintenances", json=_upgrade(networks=["Ethereum"]), headers=support
    )
    assert made.status_code == 201, made.text
    maintenance = made.json()["id"]
    assert len(made.json()["component_ids"]) == 14

    moved = await _edit(client, support, maintenance, networks=["trc20"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["component_ids"] == [ids["USDT-TRC20-withdrawal"]]

    # Ids and assets together, withdrawals only: the union, each once.
    both = await _edit(
        client,
        support,
        maintenance,
        component_ids=[ids["ETH-Ethereum-deposit"]],
        assets=["USDT", "DAI"],
        direction="withdrawal",
    )
    assert both.status_code == 200, both.text
    assert sorted(both.json()["component_ids"]) == sorted(
        [
            ids["ETH-Ethereum-deposit"],
            ids["USDT-Ethereum-withdrawal"],
            ids["USDT-TRC20-withdrawal"],
            ids["DAI-Ethereum-withdrawal"],
        ]
    )
    # An edit naming no components keeps them; the audit records the change of each edit.
    renamed = await _edit(client, support, maintenance, name="Ethereum and TRON upgrade")
    assert renamed.json()["component_ids"] == both.json()["component_ids"]
    audit = await client.get(f"{API}/audit?action=maintenance.edit", headers=admin)
    assert len(audit.json()) == 3


async def test_an_edit_naming_nothing_or_what_matches_nothing_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _components(client, support)
    made = await client.post(f"{API}/maintenances", json=_upgrade(assets=["ETH"]), headers=support)
    maintenance = made.json()["id"]
    for choice, field in (
        ({"networks": ["Solana"]}, "networks"),
        ({"assets": ["DOGE"], "component_ids": [ids["UNI-Ethereum-deposit"]]}, "assets"),
        ({"component_ids": [], "networks": []}, "component_ids"),
        ({"component_ids": [ids["ETH-Ethereum-deposit"]], "direction": "deposit"}, "direction"),
        ({"direction": "deposit"}, "direction"),
        ({"component_ids": [2**31 - 1]}, f"component_ids.{2**31 - 1}"),
    ):
        refused = await _edit(client, support, maintenance, **choice)
        assert refused.status_code == 422, (choice, refused.text)
        assert refused.json()["error"]["field"] == field, (choice, refused.text)
    kept = await client.get(f"{API}/maintenances/{maintenance}", headers=support)
    assert sorted(kept.json()["component_ids"]) == sorted(
        [ids["ETH-Ethereum-deposit"], ids["ETH-Ethereum-withdrawal"]]
    )
