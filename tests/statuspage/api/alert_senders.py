"""What the other senders post: Grafana alerting's default webhook payload as its
documentation shows it (two firing alerts), generic events, and the staff calls that make a
source of a kind and a rule for it."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.statuspage.api.alert_payloads import API, rule_body

# Grafana's documented example (webhook notifier, "Default JSON payload"), as sent.
GRAFANA_EXAMPLE: dict[str, Any] = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
            "&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {
                "description": "The system has high CPU usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone eu-1",
            },
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
            "&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n",
}


def grafana(*, status: str = "firing", alerts: int = 2) -> dict[str, Any]:
    """The documented payload; resolved: its alerts with an end, as Grafana sends them."""
    sent = copy.deepcopy(GRAFANA_EXAMPLE)
    sent["alerts"] = sent["alerts"][:alerts]
    if status == "resolved":
        sent["status"], sent["state"] = "resolved", "ok"
        for alert in sent["alerts"]:
            alert["status"], alert["endsAt"] = "resolved", "2021-10-12T10:21:03.157076+02:00"
    return sent


async def component(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> int:
    made = await client.post(f"{API}/components", json={"name": name}, headers=admin)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def source(
    client: httpx.AsyncClient, admin: dict[str, str], kind: str, **body: Any
) -> dict[str, Any]:
    made = await client.post(
        f"{API}/alert-sources", json={"name": f"{kind} prod", "kind": kind, **body}, headers=admin
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def rule(
    client: httpx.AsyncClient, admin: dict[str, str], component_id: int, **overrides: Any
) -> dict[str, Any]:
    made = await client.post(
        f"{API}/alert-rules", json=rule_body(component_id, **overrides), headers=admin
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def component_status(client: httpx.AsyncClient, component_id: int) -> str:
    components = (await client.get("/api/v2/summary.json")).json()["components"]
    return str(next(c["status"] for c in components if c["id"] == str(component_id)))


async def unresolved(client: httpx.AsyncClient) -> list[str]:
    shown = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    return [f"{incident['name']}: {incident['status']}" for incident in shown]
