"""A support agent takes incidents through their lifecycle with the staff API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from incidents import service
from statuspage.db import Database

API = "/api/staff"
T0 = "2026-03-01T10:00:00+00:00"


async def _component(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    response = await client.post(f"{API}/components", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _components(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    response = await client.get(f"{API}/components", headers=headers)
    return {item["name"]: item["status"] for item in response.json()}


async def _open(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"name": "ETH withdrawals delayed", "body": "We are looking into it.", **fields}
    response = await client.post(f"{API}/incidents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_investigating_to_resolved_with_components_eta_and_windows(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    eth = await _component(client, support, "ETH withdrawals")
    usdt = await _component(client, support, "USDT-TRC20 withdrawals")
    incident = await _open(
        client,
        support,
        display_at=T0,
        components={str(eth): "partial_outage"},
        translations={"zh-CN": {"name": "ETH 提现延迟", "body": "我们正在调查。"}},
    )
    assert incident["status"] == "investigating"
    assert incident["impact"] == "major"  # derived from partial_outage when not given
    assert incident["started_at"] == "2026-03-01T10:00:00Z"
    assert await _components(client, support) == {
        "ETH withdrawals": "partial_outage",
        "USDT-TRC20 withdrawals": "operational",
    }

    identified = await client.post(
        f"{API}/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "An Ethereum node fell behind; we are resyncing it.",
            "cause": "Node lagging after an upgrade",
            "expected_resolution_at": "2026-03-01T12:00:00+00:00",
            "display_at": "2026-03-01T10:20:00+00:00",
            "components": {str(eth): "major_outage", str(usdt): "degraded_performance"},
            "translations": {
                "zh-CN": {"body": "以太坊节点落后，正在重新同步。", "cause": "节点升级后落后"}
            },
        },
        headers=support,
    )
    assert identified.status_code == 201, identified.text
    latest = identified.json()["updates"][-1]
    assert latest["expected_resolution_at"] == "2026-03-01T12:00:00Z"
    assert latest["cause"] == "Node lagging after an upgrade"
    assert latest["translations"]["zh-CN"]["cause"] == "节点升级后落后"
    assert sorted(
        (change["component_id"], change["old_status"], change["new_status"])
        for change in latest["component_changes"]
    ) == [(eth, "partial_outage", "major_outage"), (usdt, "operational", "degraded_performance")]
    assert identified.json()["component_ids"] == [eth, usdt]

    resolved = await client.post(
        f"{API}/incidents/{incident['id']}/resolve",
        json={"body": "All queued withdrawals were sent.", "display_at": "2026-03-01T11:30:00Z"},
        headers=support,
    )
    assert resolved.status_code == 200, resolved.text
    done = resolved.json()
    assert done["status"] == "resolved"
    assert done["resolved_at"] == "2026-03-01T11:30:00Z"
    statuses = await _components(client, support)
    assert statuses == {"ETH withdrawals": "operational", "USDT-TRC20 withdrawals": "operational"}
    windows = {window["component_id"]: window for window in done["impact_windows"]}
    assert windows[eth]["start"] == "2026-03-01T10:00:00Z"
    assert windows[eth]["end"] == "2026-03-01T11:30:00Z"
    assert [(s["status"], s["start"], s["end"]) for s in windows[eth]["segments"]] == [
        ("partial_outage", "2026-03-01T10:00:00Z", "2026-03-01T10:20:00Z"),
        ("major_outage", "2026-03-01T10:20:00Z", "2026-03-01T11:30:00Z"),
    ]
    assert (windows[usdt]["start"], windows[usdt]["end"]) == (
        "2026-03-01T10:20:00Z",
        "2026-03-01T11:30:00Z",
    )


async def test_worst_open_incident_sets_the_component_and_the_indicator(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    btc = await _component(client, support, "BTC deposits")
    minor = await _open(client, support, components={str(btc): "degraded_performance"})
    major = await _open(client, support, components={str(btc): "major_outage"}, impact="critical")
    assert (await _components(client, support))["BTC deposits"] == "major_outage"
    async with database.sessionmaker() as session:
        assert (await service.current_indicator(session)).value == "critical"

    await client.post(
        f"{API}/incidents/{major['id']}/resolve", json={"body": "Fixed."}, headers=support
    )
    assert (await _components(client, support))["BTC deposits"] == "degraded_performance"
    async with database.sessionmaker() as session:
        assert (await service.current_indicator(session)).value == "minor"

    await client.post(
        f"{API}/incidents/{minor['id']}/resolve", json={"body": "Fixed."}, headers=support
    )
    assert (await _components(client, support))["BTC deposits"] == "operational"
    async with database.sessionmaker() as session:
        assert (await service.current_indicator(session)).value == "none"


async def test_resolved_incident_takes_updates_only_after_an_explicit_reopen(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    login = await _component(client, support, "Login and 2FA")
    incident = await _open(client, support, components={str(login): "partial_outage"})
    url = f"{API}/incidents/{incident['id']}"
    await client.post(f"{url}/resolve", json={"body": "Fixed."}, headers=support)

    refused = await client.post(
        f"{url}/updates", json={"status": "monitoring", "body": "More"}, headers=support
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert "reopen" in refused.json()["error"]["message"]

    reopened = await client.post(
        f"{url}/reopen",
        json={
            "status": "identified",
            "body": "It came back.",
            "components": {str(login): "major_outage"},
        },
        headers=support,
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "identified"
    assert reopened.json()["resolved_at"] is None
    assert (await _components(client, support))["Login and 2FA"] == "major_outage"
    assert len(reopened.json()["impact_windows"]) == 2  # one before resolution, one after

    again = await client.post(f"{url}/reopen", json={"body": "Twice?"}, headers=support)
    assert again.status_code == 409
    assert "only a resolved incident" in again.json()["error"]["message"]


async def test_postmortem_closes_the_timeline_to_all_but_postmortem_edits(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(client, support)
    url = f"{API}/incidents/{incident['id']}"
    early = await client.put(f"{url}/postmortem", json={"body": "Too early"}, headers=support)
    assert early.status_code == 409
    assert "still investigating" in early.json()["error"]["message"]

    await client.post(f"{url}/resolve", json={"body": "Fixed."}, headers=support)
    written = await client.put(
        f"{url}/postmortem",
        json={"body": "## Cause\n\nA node lagged.", "translations": {"zh-CN": {"body": "## 原因"}}},
        headers=support,
    )
    assert written.status_code == 200, written.text
    assert written.json()["status"] == "postmortem"
    published_at = written.json()["postmortem_published_at"]

    edited = await client.put(
        f"{url}/postmortem", json={"body": "## Cause\n\nFixed typo."}, headers=support
    )
    assert edited.json()["postmortem_body"] == "## Cause\n\nFixed typo."
    assert edited.json()["postmortem_published_at"] == published_at
    assert "postmortem" not in edited.json()["translations"].get("zh-CN", {})

    update_id = edited.json()["updates"][0]["id"]
    for response in (
        await client.post(
            f"{url}/updates", json={"status": "monitoring", "body": "x"}, headers=support
        ),
        await client.post(f"{url}/reopen", json={"body": "x"}, headers=support),
        await client.patch(f"{url}/updates/{update_id}", json={"body": "x"}, headers=support),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_transition"


async def test_editing_an_update_changes_its_text_not_its_statuses(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    spot = await _component(client, support, "Spot trading")
    incident = await _open(client, support, components={str(spot): "major_outage"})
    update_id = incident["updates"][0]["id"]
    edited = await client.patch(
        f"{API}/incidents/{incident['id']}/updates/{update_id}",
        json={
            "body": "Spot trading is halted.",
            "cause": "Matching engine crash",
            "translations": {"zh-CN": {"body": "现货交易暂停。"}},
        },
        headers=support,
    )
    assert edited.status_code == 200, edited.text
    update = edited.json()["updates"][0]
    assert update["body"] == "Spot trading is halted."
    assert update["cause"] == "Matching engine crash"
    assert update["translations"] == {"zh-CN": {"body": "现货交易暂停。"}}
    assert update["component_changes"][0]["new_status"] == "major_outage"


async def test_backdated_update_moves_the_start_and_future_display_time_is_refused(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(client, support, display_at="2026-03-01T10:00:00Z")
    url = f"{API}/incidents/{incident['id']}/updates"
    earlier = await client.post(
        url,
        json={
            "status": "investigating",
            "body": "Posted late: alerts began at 09:40.",
            "display_at": "2026-03-01T09:40:00Z",
        },
        headers=support,
    )
    assert earlier.json()["started_at"] == "2026-03-01T09:40:00Z"
    assert [u["display_at"] for u in earlier.json()["updates"]] == [
        "2026-03-01T09:40:00Z",
        "2026-03-01T10:00:00Z",
    ]
    future = await client.post(
        url,
        json={"status": "identified", "body": "x", "display_at": "2999-01-01T00:00:00Z"},
        headers=support,
    )
    assert future.status_code == 422
    assert future.json()["error"]["field"] == "display_at"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"expected_resolution_at": "2026-03-01T09:00:00Z", "display_at": T0},
            "expected_resolution_at",
        ),
        ({"expected_resolution_at": "2026-03-01 12:00"}, "expected_resolution_at"),
        ({"components": {"999999": "major_outage"}}, "components.999999"),
        ({"components": {"1": "on_fire"}}, "components.1"),
        ({"translations": {"fr": {"body": "x"}}}, "translations.fr"),
        ({"translations": {"en": {"body": "x"}}}, "translations.en"),
        ({"impact": "apocalyptic"}, "impact"),
        ({"name": ""}, "name"),
        ({"body": "x" * 20_001}, "body"),
    ],
)
async def test_bad_input_names_the_field_and_stores_nothing(
    client: httpx.AsyncClient, support: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    body = {"name": "Deposits delayed", "body": "Looking.", **fields}
    response = await client.post(f"{API}/incidents", json=body, headers=support)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    listed = await client.get(f"{API}/incidents", headers=support)
    assert listed.json() == []


async def test_drafts_are_listed_for_staff_and_leave_components_alone_until_published(
    client: httpx.AsyncClient, support: dict[str, str], finance: dict[str, str]
) -> None:
    api = await _component(client, support, "Public REST API")
    draft = await _open(client, support, draft=True, components={str(api): "partial_outage"})
    assert draft["draft"] is True
    assert (await _components(client, support))["Public REST API"] == "operational"
    listed = await client.get(f"{API}/incidents?include_drafts=true", headers=finance)
    assert [item["id"] for item in listed.json()] == [draft["id"]]
    hidden = await client.get(f"{API}/incidents?include_drafts=false", headers=finance)
    assert hidden.json() == []

    published = await client.post(f"{API}/incidents/{draft['id']}/publish", headers=support)
    assert published.json()["draft"] is False
    assert (await _components(client, support))["Public REST API"] == "partial_outage"


async def test_list_filters_by_status(client: httpx.AsyncClient, support: dict[str, str]) -> None:
    first = await _open(client, support, name="First")
    second = await _open(client, support, name="Second")
    await client.post(
        f"{API}/incidents/{first['id']}/resolve", json={"body": "Done"}, headers=support
    )
    open_ones = await client.get(
        f"{API}/incidents?status=investigating,identified", headers=support
    )
    assert [item["name"] for item in open_ones.json()] == ["Second"]
    assert second["id"] in [item["id"] for item in open_ones.json()]
    bad = await client.get(f"{API}/incidents?status=closed", headers=support)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "status"


async def test_an_update_repeating_a_status_records_no_change(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    eth = await _component(client, support, "ETH withdrawals")
    usdt = await _component(client, support, "USDT-TRC20 withdrawals")
    incident = await _open(client, support, components={str(eth): "partial_outage"})
    response = await client.post(
        f"{API}/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "USDT-TRC20 is not affected.",
            "components": {str(eth): "partial_outage", str(usdt): "operational"},
        },
        headers=support,
    )
    assert response.status_code == 201, response.text
    assert response.json()["updates"][-1]["component_changes"] == []
    assert response.json()["component_ids"] == [eth]
