"""The alert webhook refuses callers without the source's secret and payloads it cannot read,
naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.statuspage.api.alert_payloads import API, alert, payload, rule_body, set_up

HOOK = "/api/alerts/alertmanager"


async def test_no_secret_or_a_wrong_one_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await set_up(client, admin)
    missing = await client.post(HOOK, json=payload(alert()))
    assert missing.status_code == 401
    assert missing.json()["error"]["field"] == "secret"
    wrong = await client.post(f"{HOOK}/as_{'x' * 43}", json=payload(alert()))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "this alert source's secret is not valid"


async def test_the_secret_may_come_as_a_bearer_credential(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    secret = hook.rsplit("/", 1)[1]
    answer = await client.post(
        HOOK, json=payload(alert()), headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.json()["alerts"][0]["decision"] == "announced"


async def test_invalid_payloads_name_the_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    old = await client.post(hook, json={**payload(alert()), "version": "3"})
    assert old.status_code == 422
    assert old.json()["error"]["field"] == "version"
    bad = alert()
    bad["fingerprint"] = "not a fingerprint!"
    answer = await client.post(hook, json=payload(bad))
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "alerts.0.fingerprint"
    empty = await client.post(hook, json={**payload(alert()), "alerts": []})
    assert empty.json()["error"]["field"] == "alerts"


async def test_an_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    huge = alert()
    huge["annotations"] = {f"note{i}": "x" * 1_900 for i in range(600)}
    answer = await client.post(hook, json=payload(huge))
    assert answer.status_code == 413
    assert answer.json()["error"]["field"] == "body"


async def test_rules_are_validated_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], support: dict[str, str]
) -> None:
    component_id, _ = await set_up(client, admin)
    up = await client.post(
        f"{API}/alert-rules",
        json=rule_body(component_id, component_status="operational"),
        headers=admin,
    )
    assert up.status_code == 422
    assert up.json()["error"]["field"] == "component_status"
    missing = await client.post(
        f"{API}/alert-rules",
        json=rule_body(component_id, language="zh-CN", texts={}),
        headers=admin,
    )
    assert missing.json()["error"]["field"] == "texts"
    nowhere = await client.post(f"{API}/alert-rules", json=rule_body(999_999), headers=admin)
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["field"] == "component_id"
    as_support = await client.post(
        f"{API}/alert-rules", json=rule_body(component_id), headers=support
    )
    assert as_support.status_code == 403


async def test_a_wrong_secret_is_refused_before_the_body_is_read(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await set_up(client, admin)
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"version": "4", '
        await never.wait()  # a caller that sends its headers and then nothing more

    headers = {"content-type": "application/json", "content-length": "900000"}
    wrong = await asyncio.wait_for(
        client.post(f"{HOOK}/as_{'x' * 43}", content=stalled(), headers=headers), timeout=5
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "this alert source's secret is not valid"
    # a body over the limit from a stranger: 401, not 413 (its size was never looked at)
    huge = alert()
    huge["annotations"] = {f"note{i}": "x" * 1_900 for i in range(600)}
    oversized = await client.post(f"{HOOK}/as_{'x' * 43}", json=payload(huge))
    assert oversized.status_code == 401
