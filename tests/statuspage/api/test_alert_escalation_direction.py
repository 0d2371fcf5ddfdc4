"""A sender re-sending with another component status for an open incident: detection moves
the component only to a worse status (recovery is the resolved path), and never over a
change a person made on the incident."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.statuspage.api.alert_payloads import API
from tests.statuspage.api.alert_senders import component, component_status, rule, source


def _event(status: str) -> dict[str, Any]:
    return {
        "summary": "ETH withdrawals time out",
        "dedup_key": "eth-withdrawals",
        "component": "ETH withdrawals",
        "labels": {"service": "wallet"},
        "status": status,
    }


async def _fired(
    client: httpx.AsyncClient, admin: dict[str, str], status: str
) -> tuple[int, str, int]:
    eth = await component(client, admin, "ETH withdrawals")
    made = await source(client, admin, "events")
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    fired = (await client.post(made["webhook_path"], json=_event(status))).json()["alerts"][0]
    assert fired["decision"] == "announced"
    return eth, made["webhook_path"], fired["incident_id"]


async def _decision(client: httpx.AsyncClient, hook: str, status: str) -> str:
    answer = await client.post(hook, json=_event(status))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alerts"][0]["decision"])


async def test_a_resend_with_a_milder_status_does_not_move_the_component_back_up(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth, hook, _ = await _fired(client, admin, "partial_outage")
    assert await _decision(client, hook, "major_outage") == "escalated"
    assert await component_status(client, eth) == "major_outage"
    assert await _decision(client, hook, "degraded_performance") == "already_open"
    assert await component_status(client, eth) == "major_outage"


async def _staff_sets(
    client: httpx.AsyncClient, staff: dict[str, str], incident_id: int, eth: int, status: str
) -> None:
    posted = await client.post(
        f"{API}/incidents/{incident_id}/updates",
        json={
            "status": "identified",
            "body": "We set the component by hand.",
            "components": {str(eth): status},
        },
        headers=staff,
    )
    assert posted.status_code == 201, posted.text


@pytest.mark.parametrize(
    ("by_hand", "resent"),
    [("major_outage", "degraded_performance"), ("degraded_performance", "major_outage")],
    ids=["staff escalated", "staff eased"],
)
async def test_a_status_staff_set_by_hand_is_not_moved_by_a_resend(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    support: dict[str, str],
    by_hand: str,
    resent: str,
) -> None:
    eth, hook, incident_id = await _fired(client, admin, "partial_outage")
    await _staff_sets(client, support, incident_id, eth, by_hand)
    assert await _decision(client, hook, resent) == "already_open"
    assert await component_status(client, eth) == by_hand
    incident = (await client.get(f"{API}/incidents/{incident_id}", headers=admin)).json()
    assert len(incident["updates"]) == 2
