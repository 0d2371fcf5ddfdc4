"""The generic event API: an event names a component (id or name) or carries labels, sets
a status, recovers with `resolve`; a signed source takes only calls signed per Standard
Webhooks with its signing secret, within five minutes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.statuspage.api.alert_senders import (
    component,
    component_status,
    rule,
    source,
    unresolved,
)


def _event(**fields: Any) -> dict[str, Any]:
    return {"summary": "ETH withdrawals time out", "dedup_key": "eth-withdrawals", **fields}


async def _set_up(
    client: httpx.AsyncClient, admin: dict[str, str], **options: Any
) -> tuple[int, dict[str, Any]]:
    eth = await component(client, admin, "ETH withdrawals")
    made = await source(client, admin, "events", **options)
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    return eth, made


async def test_an_event_naming_a_component_sets_its_status_and_resolve_recovers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth, made = await _set_up(client, admin)
    hook = made["webhook_path"]
    assert hook == f"/api/alerts/events/{made['secret']}"
    sent = _event(
        component="ETH withdrawals", labels={"service": "wallet"}, status="partial_outage"
    )
    fired = await client.post(hook, json=sent)
    assert fired.status_code == 200, fired.text
    assert fired.json()["alerts"][0]["decision"] == "announced"
    assert await component_status(client, eth) == "partial_outage"  # the event's, not the rule's

    again = await client.post(hook, json=sent)
    assert again.json()["alerts"][0]["decision"] == "already_open"
    assert await unresolved(client) == ["ETH withdrawals are failing: investigating"]

    over = await client.post(
        hook, json=_event(component=eth, labels={"service": "wallet"}, resolve=True)
    )
    assert over.json()["alerts"][0]["decision"] == "monitoring"
    assert await component_status(client, eth) == "operational"


async def test_labels_alone_find_the_component_through_the_rules(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth, made = await _set_up(client, admin)
    fired = await client.post(made["webhook_path"], json=_event(labels={"service": "wallet"}))
    assert fired.json()["alerts"][0]["decision"] == "announced"
    assert await component_status(client, eth) == "major_outage"  # the rule's status
    unmatched = await client.post(
        made["webhook_path"], json=_event(labels={"service": "spot"}, dedup_key="spot")
    )
    assert unmatched.json()["alerts"][0]["decision"] == "unmatched"
    staff = (await client.get("/api/staff/alerts", headers=admin)).json()
    assert [(a["fingerprint"], a["decision"], a["annotations"]) for a in staff] == [
        ("spot", "unmatched", {"summary": "ETH withdrawals time out"}),
        ("eth-withdrawals", "announced", {"summary": "ETH withdrawals time out"}),
    ]


async def test_bad_events_name_the_field(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, made = await _set_up(client, admin)
    hook = made["webhook_path"]
    cases = [
        ({"summary": "x", "dedup_key": "k"}, "component"),
        (_event(component="ETH withdrawals", dedup_key="has spaces"), "dedup_key"),
        (_event(component="ETH withdrawals", status="broken"), "status"),
        (_event(component="ETH withdrawals", resolve=True, status="major_outage"), "status"),
        (_event(component="ETH withdrawals", colour="red"), "colour"),
        ({"component": "ETH withdrawals", "dedup_key": "k"}, "summary"),
    ]
    for sent, field in cases:
        answer = await client.post(hook, json=sent)
        assert (answer.status_code, answer.json()["error"]["field"]) == (422, field), sent
    nowhere = await client.post(hook, json=_event(component="DOGE deposits"))
    assert nowhere.status_code == 404
    assert nowhere.json()["error"] == {
        "code": "not_found",
        "message": "component 'DOGE deposits': no rule of this source sets it",
        "field": "component",
    }
    big = await client.post(hook, json=_event(component="x", labels={"a": "y" * 1_100_000}))
    assert big.status_code == 413
    assert await unresolved(client) == []


def _signed(secret: str, body: bytes, *, at: datetime, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


async def test_a_signed_source_takes_only_calls_signed_with_its_secret_within_five_minutes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, made = await _set_up(client, admin, signed=True)
    hook, key = made["webhook_path"], made["signing_secret"]
    assert key.startswith("whsec_")
    body = json.dumps(_event(labels={"service": "wallet"})).encode()
    now = datetime.now(UTC)

    unsigned = await client.post(hook, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["field"] == "webhook-id"
    stale = await client.post(
        hook, content=body, headers=_signed(key, body, at=now - timedelta(minutes=6))
    )
    assert (stale.status_code, stale.json()["error"]["message"]) == (
        401,
        "webhook-timestamp: message timestamp too old",
    )
    ahead = await client.post(
        hook, content=body, headers=_signed(key, body, at=now + timedelta(minutes=6))
    )
    assert ahead.json()["error"]["field"] == "webhook-timestamp"
    tampered = body.replace(b"wallet", b"walle7")
    forged = await client.post(hook, content=tampered, headers=_signed(key, body, at=now))
    assert (forged.status_code, forged.json()["error"]["message"]) == (
        401,
        "webhook-signature: no matching signature found",
    )
    other_key = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    wrong = await client.post(hook, content=body, headers=_signed(other_key, body, at=now))
    assert wrong.status_code == 401
    assert await unresolved(client) == []

    good = await client.post(hook, content=body, headers=_signed(key, body, at=now))
    assert good.json()["alerts"][0]["decision"] == "announced"
    listed = (await client.get("/api/staff/alert-sources", headers=admin)).json()
    assert [(s["kind"], s["signed"]) for s in listed] == [("events", True)]
    assert "signing_secret" not in listed[0]
