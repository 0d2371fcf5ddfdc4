"""One maintenance across many networks (issue 18): a chain upgrade named by network pauses
fourteen components at once, is announced once (one email, one webhook per subscriber) and the
network matrix shows every one of them suspended while it runs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver, SmtpReceiver

API = "/api/staff"
# Seven tokens on Ethereum, both ways: fourteen components; and one on TRON that stays open.
TOKENS = ("ETH", "USDT", "USDC", "LINK", "UNI", "AAVE", "DAI")
READER = "holder@wallet.example"


@pytest.fixture
async def mailing(mail_settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(mail_settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


async def _components(client: httpx.AsyncClient, support: dict[str, str]) -> dict[str, int]:
    ids = {}
    ways = [(asset, "Ethereum", way) for asset in TOKENS for way in ("deposit", "withdrawal")]
    for asset, network, way in [*ways, ("USDT", "TRC20", "withdrawal")]:
        made = await client.post(
            f"{API}/components",
            json={"name": f"{asset} {network} {way}s", "asset": asset, "network": network,
                  "direction": way},
            headers=support,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ids[f"{asset}-{network}-{way}"] = made.json()["id"]
    return ids


def _upgrade(**choice: Any) -> dict[str, Any]:
    return {
        "name": "Ethereum network upgrade",
        "body": "Deposits and withdrawals on Ethereum pause during the upgrade.",
        "scheduled_for": "2030-01-05T02:00:00Z",
        "scheduled_until": "2030-01-05T03:00:00Z",
        "translations": {"zh-CN": {"name": "以太坊网络升级", "body": "升级期间暂停以太坊充提。"}},
        **choice,
    }


async def test_a_maintenance_over_fourteen_networks_is_one_message_per_subscriber(
    mailing: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    mail_settings: Settings,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
) -> None:
    ids = await _components(mailing, support)
    async with database.sessionmaker() as session, session.begin():
        actor = Actor(staff_id=None, default_language="en")
        for data in (
            SubscriptionIn(channel="email", email=READER, confirmed=True),
            SubscriptionIn(channel="webhook", url=http_receiver.url("/all")),
            SubscriptionIn(
                channel="webhook",
                url=http_receiver.url("/usdt"),
                component_ids=[ids["USDT-Ethereum-deposit"], ids["USDT-Ethereum-withdrawal"]],
            ),
            SubscriptionIn(
                channel="webhook",
                url=http_receiver.url("/tron"),
                component_ids=[ids["USDT-TRC20-withdrawal"]],
            ),
        ):
            await create_subscription(session, data=data, actor=actor)

    made = await mailing.post(
        f"{API}/maintenances", json=_upgrade(networks=["ethereum"]), headers=support
    )
    assert made.status_code == 201, made.text
    ethereum = sorted(v for k, v in ids.items() if "-Ethereum-" in k)
    assert sorted(made.json()["component_ids"]) == ethereum
    assert len(ethereum) == 14

    worker = DeliveryWorker(database, mail_settings)
    try:
        assert await worker.drain() == 3  # the TRON subscriber is not told
    finally:
        await worker.close()
    [email] = smtp_receiver.to(READER)
    assert "Ethereum network upgrade" in str(email["Subject"])
    assert len(http_receiver.to("/all")) == 1
    [usdt] = http_receiver.to("/usdt")
    assert b"Ethereum network upgrade" in usdt.body
    assert http_receiver.to("/tron") == []


async def test_the_network_matrix_shows_every_network_of_the_upgrade_suspended(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _components(client, support)
    made = await client.post(
        f"{API}/maintenances", json=_upgrade(networks=["Ethereum"]), headers=support
    )
    started = await client.post(
        f"{API}/maintenances/{made.json()['id']}/updates",
        json={"status": "in_progress", "body": "Upgrading."},
        headers=support,
    )
    assert started.status_code == 201, started.text
    matrix = (await client.get("/api/networks.json?lang=zh-CN")).json()["networks"]
    ethereum = [row for row in matrix if row["network"] == "Ethereum"]
    assert sorted(row["asset"] for row in ethereum) == sorted(TOKENS)
    for row in ethereum:
        for way in ("deposit", "withdrawal"):
            assert (row[way]["state"], row[way]["reason"]) == ("suspended", "以太坊网络升级")
    [tron] = [row for row in matrix if row["network"] == "TRC20"]
    assert tron["withdrawal"]["state"] == "open"
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (await client.get("/networks")).text))
    paused = "Suspended Ethereum network upgrade Expected to reopen: 2030-01-05 03:00 (UTC+00:00)"
    for token in TOKENS:
        assert f"{token} Ethereum {paused} {paused}" in page
    assert "USDT TRC20 Not offered Open" in page
    assert len(ids) == 15


async def test_choosing_by_asset_and_direction_and_refusing_what_matches_nothing(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _components(client, support)
    usdt_out = await client.post(
        f"{API}/maintenances",
        json=_upgrade(assets=["USDT"], direction="withdrawal"),
        headers=support,
    )
    assert usdt_out.status_code == 201, usdt_out.text
    assert sorted(usdt_out.json()["component_ids"]) == sorted(
        [ids["USDT-Ethereum-withdrawal"], ids["USDT-TRC20-withdrawal"]]
    )
    for choice, field in (
        ({"networks": ["Solana"]}, "networks"),
        ({"assets": ["DOGE"]}, "assets"),
        ({}, "component_ids"),
        ({"component_ids": [ids["ETH-Ethereum-deposit"]], "direction": "deposit"}, "direction"),
    ):
        refused = await client.post(f"{API}/maintenances", json=_upgrade(**choice), headers=support)
        assert refused.status_code == 422, (choice, refused.text)
        assert refused.json()["error"]["field"] == field
        if field in ("networks", "assets"):
            named = (choice.get("networks") or choice.get("assets") or [""])[0]
            assert refused.json()["error"]["message"] == f"no component stands for {named}"
