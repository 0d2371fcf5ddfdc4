"""Support corrects an incident's record with the staff API: a component listed by mistake
comes off it (statuses, impact windows) and the public timeline shows the correction; an
edited update is marked as edited."""

from __future__ import annotations

from typing import Any

import httpx

API = "/api/staff"


async def _component(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    response = await client.post(f"{API}/components", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _incident(
    client: httpx.AsyncClient, headers: dict[str, str], btc: int, eth: int
) -> dict[str, Any]:
    body = {
        "name": "Withdrawals delayed",
        "body": "Withdrawals are queued.",
        "components": {str(btc): "degraded_performance", str(eth): "degraded_performance"},
    }
    response = await client.post(f"{API}/incidents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_component_listed_by_mistake_is_taken_off_with_its_windows(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    btc = await _component(client, support, "BTC withdrawals")
    eth = await _component(client, support, "ETH withdrawals")
    incident = await _incident(client, support, btc, eth)
    assert sorted(w["component_id"] for w in incident["impact_windows"]) == sorted([btc, eth])
    corrected = await client.post(
        f"{API}/incidents/{incident['id']}/corrections",
        json={
            "component_id": btc,
            "body": "Correction: BTC withdrawals were not affected.",
            "translations": {"zh-CN": {"body": "更正：BTC 提现未受影响。"}},
        },
        headers=support,
    )
    assert corrected.status_code == 201, corrected.text
    shown = corrected.json()
    assert [w["component_id"] for w in shown["impact_windows"]] == [eth]
    assert shown["component_ids"] == [eth]
    correction = shown["updates"][-1]
    assert correction["corrected_component_id"] == btc
    assert correction["component_changes"] == []
    assert shown["updates"][0]["component_changes"] == [
        {"component_id": eth, "old_status": "operational", "new_status": "degraded_performance"}
    ]
    statuses = {
        c["name"]: c["status"]
        for c in (await client.get(f"{API}/components", headers=support)).json()
    }
    assert statuses == {"BTC withdrawals": "operational", "ETH withdrawals": "degraded_performance"}

    page = await client.get(f"/incidents/{incident['shortlink']}")
    assert "<strong>Correction</strong>" in page.text
    assert "Correction: BTC withdrawals were not affected." in page.text
    assert "BTC withdrawals" not in page.text.replace("Correction: BTC withdrawals", "")
    chinese = await client.get(f"/incidents/{incident['shortlink']}?lang=zh-CN")
    assert "<strong>更正</strong>" in chinese.text and "更正：BTC 提现未受影响。" in chinese.text


async def test_a_correction_names_what_is_wrong_and_needs_support(
    client: httpx.AsyncClient, support: dict[str, str], finance: dict[str, str]
) -> None:
    btc = await _component(client, support, "BTC withdrawals")
    eth = await _component(client, support, "ETH withdrawals")
    spot = await _component(client, support, "Spot trading")
    incident = await _incident(client, support, btc, eth)
    url = f"{API}/incidents/{incident['id']}/corrections"
    unlisted = await client.post(url, json={"component_id": spot, "body": "x"}, headers=support)
    assert unlisted.status_code == 422
    assert unlisted.json()["error"]["field"] == "component_id"
    assert f"component {spot} is not listed" in unlisted.json()["error"]["message"]
    empty = await client.post(url, json={"component_id": btc, "body": ""}, headers=support)
    assert (empty.status_code, empty.json()["error"]["field"]) == (422, "body")
    refused = await client.post(url, json={"component_id": btc, "body": "x"}, headers=finance)
    assert refused.status_code == 403
    after = await client.get(f"{API}/incidents/{incident['id']}", headers=support)
    assert sorted(after.json()["component_ids"]) == sorted([btc, eth])


async def test_an_edited_update_is_marked_edited_on_the_public_page(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    btc = await _component(client, support, "BTC withdrawals")
    eth = await _component(client, support, "ETH withdrawals")
    incident = await _incident(client, support, btc, eth)
    first = incident["updates"][0]
    assert first["edited_at"] is None
    page = await client.get(f"/incidents/{incident['shortlink']}")
    assert 'class="edited"' not in page.text
    edited = await client.patch(
        f"{API}/incidents/{incident['id']}/updates/{first['id']}",
        json={"body": "Withdrawals on two chains are queued."},
        headers=support,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["updates"][0]["edited_at"] is not None
    page = await client.get(f"/incidents/{incident['shortlink']}")
    assert '<span class="edited">edited ' in page.text
    assert "Withdrawals on two chains are queued." in page.text
