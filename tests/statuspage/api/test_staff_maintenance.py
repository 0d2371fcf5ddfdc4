"""Support schedules maintenance, moves it through its statuses, reschedules and cancels it."""

from __future__ import annotations

from typing import Any

import httpx

from incidents import service
from statuspage.db import Database

API = "/api/staff"


async def _component(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    response = await client.post(f"{API}/components", json={"name": name}, headers=headers)
    return int(response.json()["id"])


async def _schedule(
    client: httpx.AsyncClient, headers: dict[str, str], component_ids: list[int], **fields: Any
) -> dict[str, Any]:
    body = {
        "name": "Futures engine upgrade",
        "body": "Futures trading pauses for up to an hour.",
        "scheduled_for": "2030-01-05T02:00:00+08:00",
        "scheduled_until": "2030-01-05T03:00:00+08:00",
        "component_ids": component_ids,
        "translations": {"zh-CN": {"name": "合约引擎升级", "body": "合约交易暂停最多一小时。"}},
        **fields,
    }
    response = await client.post(f"{API}/maintenances", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _status_of(client: httpx.AsyncClient, headers: dict[str, str], component: int) -> str:
    response = await client.get(f"{API}/components/{component}", headers=headers)
    return str(response.json()["status"])


async def test_maintenance_runs_from_scheduled_to_completed(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    futures = await _component(client, support, "Futures trading")
    maintenance = await _schedule(client, support, [futures])
    assert maintenance["status"] == "scheduled"
    assert maintenance["scheduled_for"] == "2030-01-04T18:00:00Z"  # stored and shown in UTC
    assert maintenance["translations"] == {"zh-CN": {"name": "合约引擎升级"}}
    assert maintenance["updates"][0]["translations"] == {
        "zh-CN": {"body": "合约交易暂停最多一小时。"}
    }
    assert await _status_of(client, support, futures) == "operational"

    url = f"{API}/maintenances/{maintenance['id']}/updates"
    started = await client.post(
        url, json={"status": "in_progress", "body": "Started."}, headers=support
    )
    assert started.status_code == 201, started.text
    assert started.json()["started_at"] is not None
    assert await _status_of(client, support, futures) == "under_maintenance"
    async with database.sessionmaker() as session:
        assert (await service.current_indicator(session)).value == "maintenance"

    await client.post(url, json={"status": "verifying", "body": "Checking."}, headers=support)
    done = await client.post(url, json={"status": "completed", "body": "Done."}, headers=support)
    assert done.json()["status"] == "completed"
    assert [u["status"] for u in done.json()["updates"]] == [
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    ]
    assert await _status_of(client, support, futures) == "operational"
    async with database.sessionmaker() as session:
        assert (await service.current_indicator(session)).value == "none"

    late = await client.post(url, json={"status": "in_progress", "body": "Again?"}, headers=support)
    assert late.status_code == 409
    assert "cannot go from completed" in late.json()["error"]["message"]


async def test_an_outage_during_maintenance_shows_as_the_outage(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    futures = await _component(client, support, "Futures trading")
    maintenance = await _schedule(client, support, [futures])
    await client.post(
        f"{API}/maintenances/{maintenance['id']}/updates",
        json={"status": "in_progress", "body": "Started."},
        headers=support,
    )
    await client.post(
        f"{API}/incidents",
        json={
            "name": "Upgrade failed",
            "body": "Rolling back.",
            "components": {str(futures): "major_outage"},
        },
        headers=support,
    )
    assert await _status_of(client, support, futures) == "major_outage"


async def test_reschedule_and_cancel(client: httpx.AsyncClient, support: dict[str, str]) -> None:
    ws = await _component(client, support, "WebSocket streams")
    maintenance = await _schedule(client, support, [ws])
    url = f"{API}/maintenances/{maintenance['id']}"
    moved = await client.patch(
        url,
        json={"scheduled_for": "2030-01-06T02:00:00Z", "scheduled_until": "2030-01-06T04:00:00Z"},
        headers=support,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["scheduled_for"], moved.json()["scheduled_until"]) == (
        "2030-01-06T02:00:00Z",
        "2030-01-06T04:00:00Z",
    )
    backwards = await client.patch(
        url, json={"scheduled_until": "2030-01-06T01:00:00Z"}, headers=support
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["field"] == "scheduled_until"

    cancelled = await client.post(f"{url}/cancel", json={"body": "Postponed."}, headers=support)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["updates"][-1]["body"] == "Postponed."
    edit = await client.patch(url, json={"name": "Renamed"}, headers=support)
    assert edit.status_code == 409
    assert "cancelled maintenance" in edit.json()["error"]["message"]


async def test_window_must_end_after_it_starts_and_name_components(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ws = await _component(client, support, "WebSocket streams")
    inverted = await client.post(
        f"{API}/maintenances",
        json={
            "name": "x",
            "body": "y",
            "component_ids": [ws],
            "scheduled_for": "2030-01-05T03:00:00Z",
            "scheduled_until": "2030-01-05T02:00:00Z",
        },
        headers=support,
    )
    assert inverted.status_code == 422
    assert inverted.json()["error"]["field"] == "scheduled_until"
    naive = await client.post(
        f"{API}/maintenances",
        json={
            "name": "x",
            "body": "y",
            "component_ids": [ws],
            "scheduled_for": "2030-01-05T02:00:00",
            "scheduled_until": "2030-01-05T03:00:00Z",
        },
        headers=support,
    )
    assert naive.status_code == 422
    assert naive.json()["error"]["field"] == "scheduled_for"
    unknown = await client.post(
        f"{API}/maintenances",
        json={
            "name": "x",
            "body": "y",
            "component_ids": [999999],
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
        },
        headers=support,
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "component_ids.999999"


async def test_times_out_of_range_are_refused_not_crashed_on(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ws = await _component(client, support, "WebSocket streams")
    response = await client.post(
        f"{API}/maintenances",
        json={
            "name": "x",
            "body": "y",
            "component_ids": [ws],
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "9999-12-31T23:59:59-14:00",
        },
        headers=support,
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "scheduled_until"
    assert "between 2000-01-01 and 2100-01-01" in response.json()["error"]["message"]
