"""A signed Grafana source takes only calls signed as Grafana's webhook contact point signs
them (its "HMAC Signature" setting, Grafana 12): the lowercase hex HMAC-SHA256 of
`timestamp:body` with the shared secret, in X-Grafana-Alerting-Signature, the Unix seconds
in the timestamp header, within five minutes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from tests.statuspage.api.alert_senders import component, grafana, rule, source, unresolved


def _grafana_signed(
    secret: str,
    body: bytes,
    *,
    at: float,
    header: str = "X-Grafana-Alerting-Signature",
) -> dict[str, str]:
    """Grafana's HMACRoundTripper: hash.Write(timestamp), hash.Write(":"), hash.Write(body),
    hex.EncodeToString(hash.Sum(nil)); the timestamp is strconv.FormatInt(Unix(), 10)."""
    timestamp = str(int(at))
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac.update(timestamp.encode())
    mac.update(b":")
    mac.update(body)
    return {
        "content-type": "application/json",
        "User-Agent": "Grafana",
        header: mac.hexdigest(),
        "X-Grafana-Alerting-Timestamp": timestamp,
    }


async def _set_up(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    memory = await component(client, admin, "Matching engine")
    made = await source(client, admin, "grafana", signed=True)
    await rule(client, admin, memory, source_id=made["id"], matchers={"team": "blue"})
    return made


async def _refusal(answer: httpx.Response) -> tuple[int, str, str]:
    error = answer.json()["error"]
    return answer.status_code, error["field"], error["message"]


async def test_a_signed_grafana_source_takes_only_what_grafana_signed_with_its_secret(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await _set_up(client, admin)
    hook, secret = made["webhook_path"], made["signing_secret"]
    assert made["signed"] is True and len(secret) >= 40 and not secret.startswith("whsec_")
    body = json.dumps(grafana(alerts=1)).encode()
    now = time.time()

    unsigned = await client.post(hook, content=body, headers={"content-type": "application/json"})
    assert await _refusal(unsigned) == (
        401,
        "X-Grafana-Alerting-Signature",
        "X-Grafana-Alerting-Signature: this source's calls must be signed (the contact"
        " point's HMAC Signature, with this source's secret)",
    )
    no_time = _grafana_signed(secret, body, at=now)
    del no_time["X-Grafana-Alerting-Timestamp"]
    assert (await _refusal(await client.post(hook, content=body, headers=no_time)))[:2] == (
        401,
        "X-Grafana-Alerting-Timestamp",
    )
    for timestamp in ("yesterday", "-1", "9" * 5_000):  # int() refuses 4,300 digits and more
        odd = {**_grafana_signed(secret, body, at=now), "X-Grafana-Alerting-Timestamp": timestamp}
        assert (await _refusal(await client.post(hook, content=body, headers=odd)))[:2] == (
            401,
            "X-Grafana-Alerting-Timestamp",
        )
    wrong = _grafana_signed("not this source's secret", body, at=now)
    assert await _refusal(await client.post(hook, content=body, headers=wrong)) == (
        401,
        "X-Grafana-Alerting-Signature",
        "X-Grafana-Alerting-Signature: no matching signature found (an HMAC-SHA256 of"
        " timestamp:body with this source's secret)",
    )
    accented = {  # latin-1 on the wire, as a proxy may pass it
        name.encode(): value.encode("latin-1") for name, value in wrong.items()
    } | {b"X-Grafana-Alerting-Signature": ("é" * 64).encode("latin-1")}
    assert (await _refusal(await client.post(hook, content=body, headers=accented)))[:2] == (
        401,
        "X-Grafana-Alerting-Signature",
    )
    tampered = body.replace(b"blue", b"b1ue")
    forged = _grafana_signed(secret, body, at=now)
    assert (await client.post(hook, content=tampered, headers=forged)).status_code == 401
    old = _grafana_signed(secret, body, at=now - 6 * 60)
    assert await _refusal(await client.post(hook, content=body, headers=old)) == (
        401,
        "X-Grafana-Alerting-Timestamp",
        "X-Grafana-Alerting-Timestamp: message timestamp too old (more than five minutes off)",
    )
    ahead = _grafana_signed(secret, body, at=now + 6 * 60)
    assert (await _refusal(await client.post(hook, content=body, headers=ahead)))[2].endswith(
        "too new (more than five minutes off)"
    )
    assert await unresolved(client) == []

    signed = _grafana_signed(secret, body, at=now)
    good = await client.post(hook, content=body, headers=signed)
    assert good.status_code == 200, good.text
    assert good.json()["alerts"][0]["decision"] == "announced"
    assert await unresolved(client) == ["ETH withdrawals are failing: investigating"]
    # A copy of that call (within the five minutes its timestamp passes) acts on nothing: its
    # signature, an HMAC of timestamp and body, names the message as a webhook-id would.
    copied = await client.post(hook, content=body, headers=signed)
    assert copied.json() == {**good.json(), "duplicate": True}
    anew = await client.post(hook, content=body, headers=_grafana_signed(secret, body, at=now + 1))
    assert "duplicate" not in anew.json()  # Grafana sending again signs anew: not a replay


async def test_grafanas_fallback_header_and_put_are_taken_and_rotation_changes_the_secret(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await _set_up(client, admin)
    body = json.dumps(grafana(alerts=1)).encode()
    signed = _grafana_signed(
        made["signing_secret"], body, at=time.time(), header="X-Grafana-Alert-Signature"
    )
    taken = await client.put(made["webhook_path"], content=body, headers=signed)
    assert taken.json()["alerts"][0]["decision"] == "announced"

    rotated = await client.post(f"/api/staff/alert-sources/{made['id']}/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["signing_secret"] != made["signing_secret"]
    again = _grafana_signed(made["signing_secret"], body, at=time.time())
    assert (
        await client.post(fresh["webhook_path"], content=body, headers=again)
    ).status_code == 401
    now_signed = _grafana_signed(fresh["signing_secret"], body, at=time.time())
    answer = await client.post(fresh["webhook_path"], content=body, headers=now_signed)
    assert answer.json()["alerts"][0]["decision"] == "already_open"


async def test_only_events_and_grafana_sources_may_be_signed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = await client.post(
        "/api/staff/alert-sources",
        json={"name": "am", "kind": "alertmanager", "signed": True},
        headers=admin,
    )
    assert (refused.status_code, refused.json()["error"]["message"]) == (
        422,
        "signed: only an events or a Grafana source checks signatures",
    )
