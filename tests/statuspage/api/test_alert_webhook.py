"""Alertmanager's webhook opens, joins and recovers incidents by the rules staff define."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.statuspage.api.alert_payloads import API, alert, payload, rule_body, set_up


async def _unresolved(client: httpx.AsyncClient) -> list[dict[str, object]]:
    incidents: list[dict[str, object]] = (
        await client.get("/api/v2/incidents/unresolved.json")
    ).json()["incidents"]
    return incidents


async def _component_status(client: httpx.AsyncClient, component_id: int) -> str:
    components = (await client.get("/api/v2/components.json")).json()["components"]
    return str(next(c["status"] for c in components if c["id"] == str(component_id)))


async def test_announce_publishes_at_once_and_a_resend_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    component_id, hook = await set_up(client, admin)
    first = await client.post(hook, json=payload(alert()))
    assert first.status_code == 200, first.text
    [decision] = first.json()["alerts"]
    assert decision["decision"] == "announced"
    [shown] = await _unresolved(client)
    assert shown["name"] == "ETH withdrawals are failing"
    assert shown["status"] == "investigating"
    assert await _component_status(client, component_id) == "major_outage"

    again = await client.post(hook, json=payload(alert()))
    assert again.json()["alerts"][0] == {**decision, "decision": "already_open"}
    assert len(await _unresolved(client)) == 1


async def test_draft_policy_keeps_the_page_quiet_until_a_person_publishes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    component_id, hook = await set_up(client, admin, policy="draft")
    answer = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert answer["decision"] == "drafted"
    assert await _unresolved(client) == []
    assert await _component_status(client, component_id) == "operational"
    staff_view = await client.get(f"{API}/incidents/{answer['incident_id']}", headers=admin)
    assert staff_view.json()["draft"] is True
    assert staff_view.json()["translations"]["zh-CN"]["name"] == "ETH 提现失败"


async def test_other_alerts_of_the_component_join_its_incident(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    first = (await client.post(hook, json=payload(alert("aaaa1")))).json()["alerts"][0]
    second = (await client.post(hook, json=payload(alert("bbbb2", instance="node-2")))).json()[
        "alerts"
    ][0]
    assert second == {
        "fingerprint": "bbbb2",
        "decision": "joined",
        "incident_id": first["incident_id"],
    }
    # one of two recovers: the incident stays as it is while the other still fires
    partly = await client.post(hook, json=payload(alert("aaaa1", status="resolved")))
    assert partly.json()["alerts"][0]["decision"] == "others_firing"
    assert [i["status"] for i in await _unresolved(client)] == ["investigating"]


async def test_recovery_moves_to_monitoring_unless_the_rule_resolves(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    component_id, hook = await set_up(client, admin)
    await client.post(hook, json=payload(alert()))
    recovered = await client.post(hook, json=payload(alert(status="resolved")))
    assert recovered.json()["alerts"][0]["decision"] == "monitoring"
    [shown] = await _unresolved(client)
    assert shown["status"] == "monitoring"
    assert await _component_status(client, component_id) == "operational"


async def test_a_rule_that_says_so_resolves_on_recovery(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin, resolve_automatically=True)
    opened = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    recovered = await client.post(hook, json=payload(alert(status="resolved")))
    assert recovered.json()["alerts"][0]["decision"] == "resolved_incident"
    assert await _unresolved(client) == []
    incident = await client.get(f"{API}/incidents/{opened['incident_id']}", headers=admin)
    assert incident.json()["status"] == "resolved"
    # the same firing sent again stays closed; firing again later (a new start) opens a new
    # incident, not the resolved one
    repeated = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert repeated["decision"] == "already_handled"
    later = {**alert(), "startsAt": "2026-12-03T11:00:00+02:00"}
    again = (await client.post(hook, json=payload(later))).json()["alerts"][0]
    assert again["decision"] == "announced"
    assert again["incident_id"] != opened["incident_id"]


async def test_unmatched_alerts_are_recorded_and_open_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    answer = await client.post(hook, json=payload(alert(chain="bitcoin")))
    assert answer.json()["alerts"][0] == {
        "fingerprint": "1a30ba71cca2921f",
        "decision": "unmatched",
        "incident_id": None,
    }
    assert await _unresolved(client) == []
    listed = (await client.get(f"{API}/alerts", headers=admin)).json()
    assert [(a["labels"]["chain"], a["decision"]) for a in listed] == [("bitcoin", "unmatched")]


async def test_a_paused_source_records_alerts_and_opens_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    [source] = (await client.get(f"{API}/alert-sources", headers=admin)).json()
    paused = await client.patch(
        f"{API}/alert-sources/{source['id']}", json={"paused": True}, headers=admin
    )
    assert paused.json()["paused"] is True
    answer = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert (answer["decision"], answer["incident_id"]) == ("paused", None)
    assert await _unresolved(client) == []
    await client.patch(f"{API}/alert-sources/{source['id']}", json={"paused": False}, headers=admin)
    resumed = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert resumed["decision"] == "announced"


async def test_each_alert_records_how_long_detection_took(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    fired = alert()
    fired["startsAt"] = (datetime.now(UTC) - timedelta(seconds=42)).isoformat()
    await client.post(hook, json=payload(fired))
    [listed] = (await client.get(f"{API}/alerts", headers=admin)).json()
    assert listed["decision"] == "announced"
    assert 42 <= listed["latency_seconds"] < 52


async def test_the_storm_guard_stops_new_incidents_and_keeps_the_alerts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    source = await client.post(
        f"{API}/alert-sources", json={"name": "noisy", "storm_limit": 2}, headers=admin
    )
    hook = source.json()["webhook_path"]
    for chain in ("ethereum", "bitcoin", "tron"):
        component = await client.post(
            f"{API}/components", json={"name": f"{chain} withdrawals"}, headers=admin
        )
        body = rule_body(component.json()["id"], matchers={"chain": chain})
        assert (
            await client.post(f"{API}/alert-rules", json=body, headers=admin)
        ).status_code == 201
    sent = payload(
        *(alert(f"f{n}", chain=chain) for n, chain in enumerate(("ethereum", "bitcoin", "tron")))
    )
    decisions = [a["decision"] for a in (await client.post(hook, json=sent)).json()["alerts"]]
    assert decisions == ["announced", "announced", "storm_guard"]
    assert len(await _unresolved(client)) == 2
    listed = (await client.get(f"{API}/alerts", headers=admin)).json()
    assert sorted(a["labels"]["chain"] for a in listed) == ["bitcoin", "ethereum", "tron"]
