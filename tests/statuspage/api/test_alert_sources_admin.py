"""Staff keep alert sources and rules: a rotated secret stops working at once and the new
one is shown once, a revoked source answers 401 from then on, rules are replaced and
deleted, and received alerts are deleted after the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from incidents.detection.models import Alert
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.statuspage.api.alert_payloads import API, alert, payload, rule_body, set_up


async def _source_id(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return int((await client.get(f"{API}/alert-sources", headers=admin)).json()[0]["id"])


async def test_rotate_shows_a_new_secret_once_and_the_old_one_stops_working(
    client: httpx.AsyncClient, admin: dict[str, str], support: dict[str, str]
) -> None:
    _, old_hook = await set_up(client, admin)
    source_id = await _source_id(client, admin)
    refused = await client.post(f"{API}/alert-sources/{source_id}/rotate", headers=support)
    assert refused.status_code == 403
    rotated = await client.post(f"{API}/alert-sources/{source_id}/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new_hook = rotated.json()["webhook_path"]
    assert new_hook != old_hook
    assert rotated.json()["prefix"] == rotated.json()["secret"][:10]
    old = await client.post(old_hook, json=payload(alert()))
    assert (old.status_code, old.json()["error"]["field"]) == (401, "secret")
    new = await client.post(new_hook, json=payload(alert()))
    assert new.json()["alerts"][0]["decision"] == "announced"
    listed = (await client.get(f"{API}/alert-sources", headers=admin)).json()
    assert "secret" not in listed[0]


async def test_a_revoked_source_answers_401_at_once_and_cannot_be_touched_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    source_id = await _source_id(client, admin)
    revoked = await client.post(f"{API}/alert-sources/{source_id}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = await client.post(hook, json=payload(alert()))
    assert after.status_code == 401
    for path, body in [("", {"paused": True}), ("/rotate", None), ("/revoke", None)]:
        method = "PATCH" if body else "POST"
        again = await client.request(
            method, f"{API}/alert-sources/{source_id}{path}", json=body, headers=admin
        )
        assert (again.status_code, again.json()["error"]["message"]) == (
            409,
            f"alert source {source_id} is revoked",
        )
    missing = await client.post(f"{API}/alert-sources/999999/revoke", headers=admin)
    assert missing.status_code == 404


async def test_rules_are_replaced_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    component_id, hook = await set_up(client, admin)
    [made] = (await client.get(f"{API}/alert-rules", headers=admin)).json()
    replaced = await client.put(
        f"{API}/alert-rules/{made['id']}",
        json=rule_body(component_id, policy="draft", matchers={"alertname": "Other"}),
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["policy"], replaced.json()["matchers"]) == (
        "draft",
        {"alertname": "Other"},
    )
    unmatched = await client.post(hook, json=payload(alert()))
    assert unmatched.json()["alerts"][0]["decision"] == "unmatched"
    bad = await client.put(
        f"{API}/alert-rules/{made['id']}",
        json=rule_body(component_id, component_status="operational"),
        headers=admin,
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "component_status")
    deleted = await client.delete(f"{API}/alert-rules/{made['id']}", headers=admin)
    assert deleted.json() == {"deleted": made["id"]}
    assert (await client.get(f"{API}/alert-rules", headers=admin)).json() == []
    gone = await client.delete(f"{API}/alert-rules/{made['id']}", headers=admin)
    assert gone.status_code == 404
    kept = (await client.get(f"{API}/alerts", headers=admin)).json()
    assert [(a["decision"], a["rule_id"]) for a in kept] == [("unmatched", None)]


async def test_alerts_older_than_the_retention_are_deleted_but_not_those_holding_an_incident(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    _, hook = await set_up(client, admin)
    await client.post(hook, json=payload(alert("aaaa1")))  # opens an incident, still firing
    await client.post(hook, json=payload(alert("bbbb2", alertname="Unmatched")))
    long_ago = datetime.now(UTC) - timedelta(days=31)
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Alert).values(updated_at=long_ago))
    done = await automation.run_due(database, settings, now=datetime.now(UTC))
    assert done == ["1 alerts older than 30 days deleted"]
    async with database.sessionmaker() as session:
        left = await session.scalars(select(Alert.fingerprint))
        assert list(left) == ["aaaa1"]
    await client.post(hook, json=payload(alert("aaaa1", status="resolved")))
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Alert).values(updated_at=long_ago))
    await automation.run_due(database, settings, now=datetime.now(UTC))
    async with database.sessionmaker() as session:  # its incident is monitoring, not closed
        assert await session.scalar(select(func.count()).select_from(Alert)) == 1
