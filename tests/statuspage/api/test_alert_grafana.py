"""Grafana alerting's webhook, its documented payload: the same rules and policies as
Alertmanager's, its own URL, and refusals that name the field."""

from __future__ import annotations

import httpx

from tests.statuspage.api.alert_senders import (
    component,
    component_status,
    grafana,
    rule,
    source,
    unresolved,
)


async def _set_up(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[int, str]:
    memory = await component(client, admin, "Matching engine")
    await rule(client, admin, memory, matchers={"alertname": "High memory usage"})
    made = await source(client, admin, "grafana")
    assert made["webhook_path"] == f"/api/alerts/grafana/{made['secret']}"
    return memory, made["webhook_path"]


async def test_grafanas_example_announces_by_the_rules_and_its_resolution_recovers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    memory, hook = await _set_up(client, admin)
    fired = await client.post(hook, json=grafana())
    assert fired.status_code == 200, fired.text
    decisions = {a["fingerprint"]: a["decision"] for a in fired.json()["alerts"]}
    # the CPU alert matches no rule: recorded, nothing opened
    assert decisions == {"c6eadffa33fcdf37": "announced", "bc97ff14869b13e3": "unmatched"}
    assert await unresolved(client) == ["ETH withdrawals are failing: investigating"]
    assert await component_status(client, memory) == "major_outage"

    again = await client.post(hook, json=grafana())
    assert again.json()["alerts"][1]["decision"] == "already_open"

    resolved = await client.post(hook, json=grafana(status="resolved"))
    assert resolved.json()["alerts"][1] == {
        "fingerprint": "c6eadffa33fcdf37",
        "decision": "monitoring",
        "incident_id": fired.json()["alerts"][1]["incident_id"],
    }
    assert await component_status(client, memory) == "operational"
    assert await unresolved(client) == ["ETH withdrawals are failing: monitoring"]


async def test_grafana_may_put_as_well_as_post(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await _set_up(client, admin)
    put = await client.put(hook, json=grafana(alerts=1))
    assert put.json()["alerts"][0]["decision"] == "announced"


async def test_a_grafana_secret_does_not_open_the_alertmanager_url(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await _set_up(client, admin)
    secret = hook.rsplit("/", 1)[1]
    elsewhere = await client.post(f"/api/alerts/alertmanager/{secret}", json=grafana())
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"]["message"] == (
        "this is a grafana source: it posts to /api/alerts/grafana/"
    )


async def test_bad_grafana_payloads_name_the_field_and_big_ones_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await _set_up(client, admin)
    sent = grafana()
    sent["alerts"][1]["status"] = "pending"
    bad = await client.post(hook, json=sent)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "alerts.1.status"
    no_fingerprint = grafana()
    del no_fingerprint["alerts"][0]["fingerprint"]
    missing = await client.post(hook, json=no_fingerprint)
    assert missing.json()["error"]["field"] == "alerts.0.fingerprint"
    huge = grafana()
    huge["message"] = "x" * 1_100_000
    too_big = await client.post(hook, json=huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["field"] == "body"
    assert await unresolved(client) == []
