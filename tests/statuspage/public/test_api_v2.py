"""Our /api/v2 has the Atlassian Statuspage public API's shape, field by field, so existing
widgets and aggregators read it unchanged."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from statuspage.config import Settings

API = "/api/staff"

# Key sets of the public objects, taken from real Statuspage responses kept in public code:
# a crypto exchange's summary.json (Huobi, quoted in a Vue dashboard), Discord's payloads in
# the hikari library's tests, and GitHub's summary.json in json2pyi's README.
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
STATUS_KEYS = {"indicator", "description"}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
AFFECTED_KEYS = {"code", "name", "old_status", "new_status"}
MAINTENANCE_KEYS = INCIDENT_KEYS | {"scheduled_for", "scheduled_until"}
INCIDENT_KEYS = INCIDENT_KEYS | {"reminder_intervals"}  # null, as Statuspage sends it

COMPONENT_STATUSES = {
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance",
}  # fmt: skip
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        time_zone="Asia/Shanghai",
        site_name="CoinPort",
        public_url="https://status.example.com",
        cache_poll_seconds=0,
    )


def _time(value: Any) -> None:
    assert isinstance(value, str) and TIME.match(value), value
    assert value.endswith("+08:00")


def _check_component(item: dict[str, Any]) -> None:
    expected = COMPONENT_KEYS | ({"components"} if item["group"] else set())
    assert set(item) == expected
    assert isinstance(item["id"], str) and isinstance(item["position"], int)
    assert item["status"] in COMPONENT_STATUSES
    _time(item["created_at"])
    _time(item["updated_at"])
    assert isinstance(item["showcase"], bool) and isinstance(item["only_show_if_degraded"], bool)


def _check_incident(item: dict[str, Any], keys: set[str], statuses: set[str]) -> None:
    assert set(item) == keys
    assert item["status"] in statuses
    for field in ("created_at", "updated_at", "started_at"):
        _time(item[field])
    assert item["shortlink"] == f"https://status.example.com/s/{item['id']}"
    for update in item["incident_updates"]:
        assert set(update) == UPDATE_KEYS
        assert update["incident_id"] == item["id"]
        assert isinstance(update["deliver_notifications"], bool)
        for field in ("created_at", "updated_at", "display_at"):
            _time(update[field])
        for affected in update["affected_components"] or []:
            assert set(affected) == AFFECTED_KEYS
    for component in item["components"]:
        _check_component(component)


async def _scenario(client: httpx.AsyncClient, support: dict[str, str]) -> dict[str, Any]:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"{API}{path}", json=body, headers=support)
        assert response.status_code in {200, 201}, response.text
        return dict(response.json())

    deposits = await post("/groups", {"name": "Deposits"})
    btc = await post("/components", {"name": "BTC deposits", "group_id": deposits["id"]})
    eth = await post("/components", {"name": "ETH withdrawals", "description": "Ether"})
    resolved = await post(
        "/incidents",
        {"name": "ETH withdrawals delayed", "body": "Looking.",
         "display_at": "2026-03-01T02:00:00Z", "components": {str(eth["id"]): "major_outage"}},
    )  # fmt: skip
    await post(
        f"/incidents/{resolved['id']}/updates",
        {"status": "monitoring", "body": "Recovering.", "display_at": "2026-03-01T02:30:00Z",
         "components": {str(eth["id"]): "degraded_performance"}},
    )  # fmt: skip
    await post(
        f"/incidents/{resolved['id']}/resolve",
        {"body": "Fixed.", "display_at": "2026-03-01T03:00:00Z"},
    )
    open_one = await post(
        "/incidents",
        {
            "name": "BTC deposits slow",
            "body": "Slow.",
            "components": {str(btc["id"]): "partial_outage"},
        },
    )
    await post("/incidents", {"name": "Hidden draft", "body": "x", "draft": True})
    window = {"scheduled_for": "2030-01-05T02:00:00Z", "scheduled_until": "2030-01-05T03:00:00Z"}
    upcoming = await post(
        "/maintenances",
        {"name": "Upgrade", "body": "Soon.", "component_ids": [eth["id"]], **window},
    )
    active = await post(
        "/maintenances", {"name": "Now", "body": "Now.", "component_ids": [btc["id"]], **window}
    )
    await post(f"/maintenances/{active['id']}/updates", {"status": "in_progress", "body": "Go."})
    return {
        "group": deposits, "btc": btc, "eth": eth, "resolved": resolved, "open": open_one,
        "upcoming": upcoming, "active": active,
    }  # fmt: skip


async def test_every_endpoint_has_the_statuspage_shape(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _scenario(client, support)
    documents = {
        name: (await client.get(f"/api/v2/{name}")).json()
        for name in (
            "summary.json", "status.json", "components.json", "incidents.json",
            "incidents/unresolved.json", "scheduled-maintenances.json",
            "scheduled-maintenances/upcoming.json", "scheduled-maintenances/active.json",
        )
    }  # fmt: skip
    assert set(documents["summary.json"]) == {
        "page", "components", "incidents", "scheduled_maintenances", "status",
    }  # fmt: skip
    assert set(documents["status.json"]) == {"page", "status"}
    for document in documents.values():
        assert set(document["page"]) == PAGE_KEYS
        _time(document["page"]["updated_at"])
        assert document["page"]["time_zone"] == "Asia/Shanghai"
        for component in document.get("components", []):
            _check_component(component)
        for incident in document.get("incidents", []):
            _check_incident(incident, INCIDENT_KEYS, INCIDENT_STATUSES)
            assert incident["reminder_intervals"] is None
        for item in document.get("scheduled_maintenances", []):
            _check_incident(item, MAINTENANCE_KEYS, MAINTENANCE_STATUSES)
            assert item["impact"] == "maintenance"
        if "status" in document:
            assert set(document["status"]) == STATUS_KEYS
            assert document["status"]["indicator"] in INDICATORS


async def test_values_for_a_known_scenario(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    made = await _scenario(client, support)
    summary = (await client.get("/api/v2/summary.json")).json()
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert summary["page"]["name"] == "CoinPort"
    assert summary["page"]["url"] == "https://status.example.com"

    by_id = {item["id"]: item for item in summary["components"]}
    group = by_id[f"g{made['group']['id']}"]
    assert (group["group"], group["components"]) == (True, [str(made["btc"]["id"])])
    assert by_id[str(made["btc"]["id"])]["group_id"] == group["id"]
    assert by_id[str(made["btc"]["id"])]["status"] == "partial_outage"
    assert by_id[str(made["eth"]["id"])]["status"] == "operational"
    assert by_id[str(made["eth"]["id"])]["description"] == "Ether"
    assert [item["position"] for item in summary["components"]] == [1, 2, 1]  # per level

    assert [i["name"] for i in summary["incidents"]] == ["BTC deposits slow"]
    unresolved = (await client.get("/api/v2/incidents/unresolved.json")).json()
    assert [i["id"] for i in unresolved["incidents"]] == [made["open"]["shortlink"]]

    listed = (await client.get("/api/v2/incidents.json")).json()["incidents"]
    assert [i["name"] for i in listed] == ["BTC deposits slow", "ETH withdrawals delayed"]
    past = listed[1]
    assert past["id"] == made["resolved"]["shortlink"]
    assert (past["started_at"], past["monitoring_at"], past["resolved_at"]) == (
        "2026-03-01T10:00:00.000+08:00",
        "2026-03-01T10:30:00.000+08:00",
        "2026-03-01T11:00:00.000+08:00",
    )
    assert [u["status"] for u in past["incident_updates"]] == [
        "resolved",
        "monitoring",
        "investigating",
    ]
    assert past["incident_updates"][1]["affected_components"] == [
        {"code": str(made["eth"]["id"]), "name": "ETH withdrawals",
         "old_status": "major_outage", "new_status": "degraded_performance"},
    ]  # fmt: skip
    assert past["impact"] == "critical"

    upcoming = (await client.get("/api/v2/scheduled-maintenances/upcoming.json")).json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Upgrade"]
    assert upcoming["scheduled_maintenances"][0]["scheduled_for"] == "2030-01-05T10:00:00.000+08:00"
    active = (await client.get("/api/v2/scheduled-maintenances/active.json")).json()
    assert [(m["name"], m["status"]) for m in active["scheduled_maintenances"]] == [
        ("Now", "in_progress")
    ]
    assert {m["name"] for m in summary["scheduled_maintenances"]} == {"Now", "Upgrade"}
    everything = (await client.get("/api/v2/scheduled-maintenances.json")).json()
    assert {m["name"] for m in everything["scheduled_maintenances"]} == {"Now", "Upgrade"}

    for document in (summary, listed):
        assert "Hidden draft" not in str(document)


async def test_cors_is_open_and_responses_are_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/status.json", headers={"Origin": "https://widget.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }
    again = await client.get(
        "/api/v2/status.json", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    preflight = await client.options(
        "/api/v2/summary.json",
        headers={"Origin": "https://widget.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"


async def test_chinese_text_is_not_escaped(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await client.post(
        f"{API}/incidents", json={"name": "提现延迟", "body": "正在调查"}, headers=support
    )
    raw = (
        await client.get("/api/v2/incidents.json", headers={"Accept-Encoding": "identity"})
    ).content
    assert "提现延迟".encode() in raw
