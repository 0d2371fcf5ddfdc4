"""The "draft" policy's escalation: a draft nobody acknowledges within N minutes is
published by the scheduler; one a person acknowledged stays a draft for them to publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.statuspage.api.alert_payloads import API, alert, payload, rule_body, set_up


async def _draft(client: httpx.AsyncClient, incident_id: int, admin: dict[str, str]) -> bool:
    found = await client.get(f"{API}/incidents/{incident_id}", headers=admin)
    return bool(found.json()["draft"])


async def test_a_draft_nobody_acknowledges_is_published_after_its_minutes(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    _, hook = await set_up(client, admin, policy="draft", publish_after_minutes=5)
    opened = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert opened["decision"] == "drafted"
    soon = datetime.now(UTC) + timedelta(minutes=4)
    assert await automation.run_due(database, settings, now=soon) == []
    due = await automation.next_due(database, settings, now=soon)
    assert due is not None and timedelta(0) < due - soon <= timedelta(minutes=1)
    assert await _draft(client, opened["incident_id"], admin)
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    done = await automation.run_due(database, settings, now=later)
    assert done == [
        f"incident {opened['incident_id']} announced after nobody acknowledged its draft"
    ]
    assert not await _draft(client, opened["incident_id"], admin)


async def test_an_acknowledged_draft_stays_a_draft(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    support: dict[str, str],
    finance: dict[str, str],
    database: Database,
    settings: Settings,
) -> None:
    _, hook = await set_up(client, admin, policy="draft", publish_after_minutes=5)
    await client.post(hook, json=payload(alert()))
    [row] = (await client.get(f"{API}/alerts", headers=admin)).json()
    refused = await client.post(f"{API}/alerts/{row['id']}/acknowledge", headers=finance)
    assert refused.status_code == 403
    seen = await client.post(f"{API}/alerts/{row['id']}/acknowledge", headers=support)
    assert seen.status_code == 200, seen.text
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert await automation.run_due(database, settings, now=later) == []
    assert await _draft(client, row["incident_id"], admin)
    missing = await client.post(f"{API}/alerts/999999/acknowledge", headers=support)
    assert missing.status_code == 404


async def test_only_a_draft_rule_publishes_later(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    component_id, _ = await set_up(client, admin)
    answer = await client.post(
        f"{API}/alert-rules", json=rule_body(component_id, publish_after_minutes=5), headers=admin
    )
    assert (answer.status_code, answer.json()["error"]["field"]) == (422, "publish_after_minutes")
