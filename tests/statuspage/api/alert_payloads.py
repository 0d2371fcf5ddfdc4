"""Alertmanager's webhook payload (version 4) as its docs show it, and the staff calls that set
a component, a source and a rule up through the API."""

from __future__ import annotations

from typing import Any

import httpx

API = "/api/staff"


def alert(
    fingerprint: str = "1a30ba71cca2921f", *, status: str = "firing", **labels: str
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "WithdrawalsFailing", "chain": "ethereum", **labels},
        "annotations": {"summary": "ETH withdrawals fail"},
        "startsAt": "2026-12-03T09:52:26.739266876+02:00",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-03T08:10:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(item["status"] == "firing" for item in alerts)
    return {
        "receiver": "statuspage",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "WithdrawalsFailing"},
        "commonLabels": {"alertname": "WithdrawalsFailing"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "version": "4",
        "groupKey": '{}:{alertname="WithdrawalsFailing"}',
        "truncatedAlerts": 0,
    }


def rule_body(component_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "matchers": {"alertname": "WithdrawalsFailing", "chain": "ethereum"},
        "component_id": component_id,
        "component_status": "major_outage",
        "policy": "announce",
        "language": "en",
        "texts": {
            "en": {
                "name": "ETH withdrawals are failing",
                "body": "Our monitoring sees ETH withdrawals failing. We are on it.",
                "recovery_body": "ETH withdrawals work again; we are watching them.",
            },
            "zh-CN": {
                "name": "ETH 提现失败",
                "body": "监控发现 ETH 提现失败，我们正在处理。",
                "recovery_body": "ETH 提现已恢复，我们正在观察。",
            },
        },
        **overrides,
    }


async def set_up(client: httpx.AsyncClient, admin: dict[str, str], **rule: Any) -> tuple[int, str]:
    """A component, an Alertmanager source and one rule; the component's id and the webhook
    path (with the secret shown once)."""
    component = await client.post(
        f"{API}/components", json={"name": "ETH withdrawals"}, headers=admin
    )
    component_id = component.json()["id"]
    source = await client.post(f"{API}/alert-sources", json={"name": "prod"}, headers=admin)
    assert source.status_code == 201, source.text
    made = await client.post(
        f"{API}/alert-rules", json=rule_body(component_id, **rule), headers=admin
    )
    assert made.status_code == 201, made.text
    return component_id, source.json()["webhook_path"]
