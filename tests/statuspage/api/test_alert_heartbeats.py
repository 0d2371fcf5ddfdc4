"""Heartbeats as push monitors, on a controllable clock (the scheduler's step run at a
chosen moment): silence past the first deadline marks the component degraded, past the
second down, and the next beat recovers it, all through the rules and policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from incidents.detection.models import Heartbeat
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.statuspage.api.alert_payloads import API
from tests.statuspage.api.alert_senders import component, rule, source


async def _set_up(
    client: httpx.AsyncClient, admin: dict[str, str], **rule_options: Any
) -> tuple[int, dict[str, Any]]:
    node = await component(client, admin, "BTC node")
    made = await source(
        client,
        admin,
        "heartbeat",
        heartbeat={"component_id": node, "degraded_after_seconds": 60, "down_after_seconds": 300},
    )
    other = await component(client, admin, "Placeholder")  # the heartbeat names its own
    await rule(
        client,
        admin,
        other,
        source_id=made["id"],
        matchers={"alertname": "HeartbeatMissing"},
        **rule_options,
    )
    return node, made


async def component_status(client: httpx.AsyncClient, admin: dict[str, str], node: int) -> str:
    """As staff see it: the scheduler writes beside the app, whose cached public pages
    catch up at their next poll (none in tests)."""
    found = (await client.get(f"{API}/components/{node}", headers=admin)).json()
    return str(found["status"])


def _at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def _last_beat(database: Database, source_id: int, at: datetime) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Heartbeat).where(Heartbeat.source_id == source_id).values(last_beat_at=at)
        )


async def test_silence_degrades_then_downs_the_component_and_a_beat_recovers_it(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    node, made = await _set_up(client, admin)
    assert made["heartbeat"]["stage"] == "ok"
    # The clock: the last beat 301 s ago; the scheduler's step run at chosen moments since.
    now = datetime.now(UTC)
    await _last_beat(database, made["id"], now - timedelta(seconds=301))
    assert await automation.run_due(database, settings, now=now - timedelta(seconds=270)) == []
    due = await automation.next_due(database, settings, now=now - timedelta(seconds=270))
    assert due == now - timedelta(seconds=241)

    done = await automation.run_due(database, settings, now=now - timedelta(seconds=240))
    assert done == ["heartbeat heartbeat prod: no beat, degraded (announced)"]
    assert await component_status(client, admin, node) == "degraded_performance"
    assert await automation.run_due(database, settings, now=now - timedelta(seconds=200)) == []

    done = await automation.run_due(database, settings, now=now)
    assert done == ["heartbeat heartbeat prod: no beat, down (escalated)"]
    assert await component_status(client, admin, node) == "major_outage"
    incidents = (await client.get(f"{API}/incidents", headers=admin)).json()
    assert [(i["name"], i["status"]) for i in incidents] == [
        ("ETH withdrawals are failing", "investigating")
    ]

    beat = await client.get(made["webhook_path"])
    assert beat.status_code == 200, beat.text
    assert beat.json()["alerts"][0]["decision"] == "monitoring"
    assert await component_status(client, admin, node) == "operational"
    quiet = await client.post(made["webhook_path"])  # a beat while all is well: nothing to say
    assert quiet.json() == {"alerts": []}


async def test_beats_in_time_keep_it_quiet_and_a_paused_heartbeat_waits(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    node, made = await _set_up(client, admin)
    assert (await client.post(made["webhook_path"])).status_code == 200
    assert await automation.run_due(database, settings, now=_at(50)) == []
    paused = await client.patch(
        f"{API}/alert-sources/{made['id']}", json={"paused": True}, headers=admin
    )
    assert paused.json()["paused"] is True
    assert await automation.run_due(database, settings, now=_at(400)) == []
    assert await component_status(client, admin, node) == "operational"
    await client.patch(f"{API}/alert-sources/{made['id']}", json={"paused": False}, headers=admin)
    done = await automation.run_due(database, settings, now=_at(400))
    assert done == ["heartbeat heartbeat prod: no beat, down (announced)"]
    assert await component_status(client, admin, node) == "major_outage"  # the stage it reached


async def test_a_draft_policy_heartbeat_stays_off_the_page(
    client: httpx.AsyncClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    node, _ = await _set_up(client, admin, policy="draft")
    assert await automation.run_due(database, settings, now=_at(61)) == [
        "heartbeat heartbeat prod: no beat, degraded (drafted)"
    ]
    assert await component_status(client, admin, node) == "operational"
    staff_view = (await client.get(f"{API}/incidents", headers=admin)).json()
    assert [(i["status"], i["draft"]) for i in staff_view] == [("investigating", True)]


async def test_heartbeat_sources_are_validated_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    node = await component(client, admin, "BTC node")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "heartbeat"}, "heartbeat"),
        (
            {"kind": "grafana", "heartbeat": {"component_id": node, "degraded_after_seconds": 60}},
            "heartbeat",
        ),
        (
            {"kind": "heartbeat", "heartbeat": {"component_id": node, "degraded_after_seconds": 5}},
            "heartbeat.degraded_after_seconds",
        ),
        (
            {
                "kind": "heartbeat",
                "heartbeat": {
                    "component_id": node,
                    "degraded_after_seconds": 60,
                    "down_after_seconds": 60,
                },
            },
            "heartbeat.down_after_seconds",
        ),
        ({"kind": "alertmanager", "signed": True}, "signed"),
    ]
    for body, field in cases:
        answer = await client.post(
            f"{API}/alert-sources", json={"name": "hb", **body}, headers=admin
        )
        assert (answer.status_code, answer.json()["error"]["field"]) == (422, field), body
    nowhere = await client.post(
        f"{API}/alert-sources",
        json={
            "name": "hb",
            "kind": "heartbeat",
            "heartbeat": {"component_id": 99_999, "degraded_after_seconds": 60},
        },
        headers=admin,
    )
    assert nowhere.status_code == 404
