"""An events source names only the components its rules set: any other (one no rule of the
source covers, a hidden one, one that does not exist) is refused alike, so a sender learns
nothing of the components the public page does not show, and moves nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.statuspage.api.alert_payloads import API
from tests.statuspage.api.alert_senders import component, component_status, rule, source, unresolved


def _event(named: int | str, **fields: Any) -> dict[str, Any]:
    return {
        "summary": "Withdrawals time out",
        "dedup_key": f"k-{named}".replace(" ", "-"),
        "component": named,
        "labels": {"service": "wallet"},
        **fields,
    }


async def _hidden(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> int:
    made = await client.post(
        f"{API}/components", json={"name": name, "hidden": True}, headers=admin
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_a_component_no_rule_of_the_source_sets_is_refused_as_a_made_up_one(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth = await component(client, admin, "ETH withdrawals")
    btc = await component(client, admin, "BTC withdrawals")  # public, no rule of this source
    secret = await _hidden(client, admin, "Hot wallet signer")
    made = await source(client, admin, "events")
    other = await source(client, admin, "events", name="another")
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    await rule(client, admin, btc, source_id=other["id"], matchers={"service": "wallet"})
    hook = made["webhook_path"]

    answers = {}
    for named in ("BTC withdrawals", btc, "Hot wallet signer", secret, "DOGE deposits", 99_999):
        answer = await client.post(hook, json=_event(named, status="major_outage"))
        answers[named] = (answer.status_code, answer.json()["error"])
    assert answers == {
        named: (
            404,
            {
                "code": "not_found",
                "message": f"component {named!r}: no rule of this source sets it",
                "field": "component",
            },
        )
        for named in answers
    }
    assert await component_status(client, btc) == "operational"
    assert await unresolved(client) == []
    assert (await client.get(f"{API}/alerts", headers=admin)).json() == []

    fired = await client.post(hook, json=_event("ETH withdrawals", status="partial_outage"))
    assert fired.json()["alerts"][0]["decision"] == "announced"
    assert await component_status(client, eth) == "partial_outage"


async def test_a_hidden_component_a_rule_sets_may_be_named(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    signer = await _hidden(client, admin, "Hot wallet signer")
    made = await source(client, admin, "events")
    await rule(client, admin, signer, source_id=made["id"], matchers={"service": "wallet"})
    fired = await client.post(made["webhook_path"], json=_event(signer))
    assert fired.json()["alerts"][0]["decision"] == "announced"
    found = (await client.get(f"{API}/components/{signer}", headers=admin)).json()
    assert found["status"] == "major_outage"


async def test_the_event_matches_only_the_rules_of_the_component_it_names(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth = await component(client, admin, "ETH withdrawals")
    btc = await component(client, admin, "BTC withdrawals")
    made = await source(client, admin, "events")
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    await rule(client, admin, btc, source_id=made["id"], matchers={"service": "wallet"}, position=1)
    fired = await client.post(made["webhook_path"], json=_event("BTC withdrawals"))
    assert fired.status_code == 200, fired.text
    decided = fired.json()["alerts"][0]
    assert decided["decision"] == "announced"
    assert await component_status(client, btc) == "major_outage"
    assert await component_status(client, eth) == "operational"
    staff = (await client.get(f"{API}/alerts", headers=admin)).json()
    rules = (await client.get(f"{API}/alert-rules", headers=admin)).json()
    btc_rule = next(found["id"] for found in rules if found["component_id"] == btc)
    assert [(alert["component_id"], alert["rule_id"]) for alert in staff] == [(btc, btc_rule)]
