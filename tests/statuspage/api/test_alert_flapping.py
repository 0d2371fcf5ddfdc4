"""A debounced "announce at once" rule: a flapping probe opens no public incident, a lasting
alert goes public when its debounce runs out (by the scheduler, or by Alertmanager's re-send)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.statuspage.api.alert_payloads import API, alert, payload, set_up


def _started(seconds_ago: float, **options: Any) -> dict[str, Any]:
    fired = alert(**options)
    fired["startsAt"] = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()
    return fired


async def _public(client: httpx.AsyncClient) -> list[str]:
    shown = (await client.get("/api/v2/incidents.json")).json()["incidents"]
    return [str(incident["name"]) for incident in shown]


async def test_a_flap_within_the_debounce_never_goes_public(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin, debounce_seconds=60)
    held = (await client.post(hook, json=payload(_started(1)))).json()["alerts"][0]
    assert held["decision"] == "held"
    assert await _public(client) == []
    flapped = (await client.post(hook, json=payload(_started(1, status="resolved")))).json()
    assert flapped["alerts"][0]["decision"] == "flapped"
    assert await _public(client) == []
    staff_view = (await client.get(f"{API}/incidents/{held['incident_id']}", headers=admin)).json()
    assert (staff_view["draft"], staff_view["status"]) == (True, "resolved")


async def test_a_lasting_alert_is_announced_when_its_debounce_runs_out(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    _, hook = await set_up(client, admin, debounce_seconds=60)
    held = (await client.post(hook, json=payload(_started(1)))).json()["alerts"][0]
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert await automation.run_due(database, settings, now=soon) == []
    assert await automation.next_due(database, settings, now=soon) is not None
    later = datetime.now(UTC) + timedelta(seconds=61)
    done = await automation.run_due(database, settings, now=later)
    assert done == [f"incident {held['incident_id']} announced after its alert's debounce"]
    assert await _public(client) == ["ETH withdrawals are failing"]


async def test_an_alert_already_older_than_the_debounce_is_announced_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin, debounce_seconds=60)
    answer = (await client.post(hook, json=payload(_started(90)))).json()["alerts"][0]
    assert answer["decision"] == "announced"
    assert await _public(client) == ["ETH withdrawals are failing"]


async def test_alertmanagers_re_send_after_the_debounce_announces_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin, debounce_seconds=1)
    fired = _started(0)
    assert (await client.post(hook, json=payload(fired))).json()["alerts"][0]["decision"] == "held"
    await asyncio.sleep(1.2)
    again = (await client.post(hook, json=payload(fired))).json()["alerts"][0]
    assert again["decision"] == "announced"
    assert await _public(client) == ["ETH withdrawals are failing"]


async def test_a_paused_source_keeps_its_held_drafts_from_going_public(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    _, hook = await set_up(client, admin, debounce_seconds=60)
    held = (await client.post(hook, json=payload(_started(1)))).json()["alerts"][0]
    assert held["decision"] == "held"
    [source] = (await client.get(f"{API}/alert-sources", headers=admin)).json()
    paused = await client.patch(
        f"{API}/alert-sources/{source['id']}", json={"paused": True}, headers=admin
    )
    assert paused.status_code == 200, paused.text
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert await automation.run_due(database, settings, now=later) == []
    assert await _public(client) == []  # pausing stops what the held alert would do


async def test_an_alert_staff_resolved_does_not_come_back_when_alertmanager_re_sends_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    fired = _started(5)
    opened = (await client.post(hook, json=payload(fired))).json()["alerts"][0]
    assert opened["decision"] == "announced"
    resolved = await client.post(
        f"{API}/incidents/{opened['incident_id']}/resolve",
        json={"body": "A false alarm: withdrawals were fine."},
        headers=admin,
    )
    assert resolved.status_code == 200, resolved.text
    again = (await client.post(hook, json=payload(fired))).json()["alerts"][0]  # repeat_interval
    assert (again["decision"], again["incident_id"]) == ("already_handled", opened["incident_id"])
    shown = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    assert shown == []
    newer = (await client.post(hook, json=payload(_started(0)))).json()["alerts"][0]
    assert newer["decision"] == "announced"  # a new firing (a later start) is a new incident
    assert newer["incident_id"] != opened["incident_id"]
