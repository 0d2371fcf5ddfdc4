"""Subscribing by asset and network (issue 18, item 7): "USDT on TRC20", deposits, withdrawals
or both, from the public page and through the staff API for every channel, stored as the
component filter (the components standing for that asset on that network)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incidents.broadcasting.models import Subscription
from statuspage.db import Database
from tests.statuspage.public.test_networks import _networks

API = "/api/staff/subscriptions"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHANNELS: dict[str, dict[str, Any]] = {
    "email": {"email": "desk@exchange.example"},
    "webhook": {"url": "https://hooks.example.com/status/1"},
    "slack": {"url": "https://hooks.example.com/slack/1"},
    "discord": {"url": "https://hooks.example.com/discord/1"},
    "telegram": {"bot_token": BOT_TOKEN, "chat_id": "-100123"},
    "feishu": {"url": "https://hooks.example.com/feishu/1", "secret": "s3cret"},
    "dingtalk": {"url": "https://hooks.example.com/dingtalk/1", "secret": "s3cret"},
    "wecom": {"url": "https://hooks.example.com/wecom/1"},
}


async def _filter_of(database: Database, address: str) -> list[int]:
    async with database.sessionmaker() as session:
        found = await session.scalar(
            select(Subscription)
            .where(Subscription.address == address)
            .options(selectinload(Subscription.components))
        )
        assert found is not None
        return sorted(component.id for component in found.components)


async def test_the_page_offers_each_asset_on_its_network_in_both_languages(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    english = (await client.get("/subscribe?lang=en")).text
    assert 'value="USDT|TRC20"> USDT on TRC20' in english
    assert "Deposits and withdrawals" in english
    chinese = (await client.get("/subscribe?lang=zh-CN")).text
    assert 'value="USDT|TRC20"> USDT（TRC20）' in chinese
    assert "按网络订阅资产" in chinese and "充值和提现" in chinese


@pytest.mark.parametrize(
    ("direction", "wanted"),
    [
        ("", ["USDT-TRC20-deposit", "USDT-TRC20-withdrawal"]),
        ("withdrawal", ["USDT-TRC20-withdrawal"]),
    ],
)
async def test_a_holder_subscribes_to_usdt_on_trc20_from_the_page(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    direction: str,
    wanted: list[str],
) -> None:
    ids = await _networks(client, support)
    sent = await client.post(
        "/subscribe?lang=en",
        data={
            "email": "holder@wallet.example",
            "language": "en",
            "networks": "USDT|TRC20",
            "direction": direction,
        },
    )
    assert sent.status_code == 200, sent.text
    assert await _filter_of(database, "holder@wallet.example") == sorted(ids[w] for w in wanted)


async def test_a_network_not_on_the_page_is_refused_and_the_form_kept(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    for junk in ("USDT|SOLANA", "nonsense", "US DT|TRC20"):
        sent = await client.post(
            "/subscribe?lang=en",
            data={"email": "holder@wallet.example", "language": "en", "networks": junk},
        )
        assert sent.status_code == 422, junk
        assert "One of the choices is no longer available." in sent.text
        assert 'value="holder@wallet.example"' in sent.text


@pytest.mark.parametrize("channel", sorted(CHANNELS))
async def test_staff_subscribe_any_channel_by_network(
    client: httpx.AsyncClient, support: dict[str, str], database: Database, channel: str
) -> None:
    ids = await _networks(client, support)
    made = await client.post(
        API,
        json={
            "channel": channel,
            **CHANNELS[channel],
            "component_ids": [ids["BTC-Bitcoin-deposit"]],
            "networks": [
                {"asset": "USDT", "network": "trc20", "direction": "withdrawal"},
                {"asset": "USDT", "network": "ERC20"},
            ],
        },
        headers=support,
    )
    assert made.status_code == 201, made.text
    expected = sorted(
        ids[name]
        for name in ("BTC-Bitcoin-deposit", "USDT-TRC20-withdrawal", "USDT-ERC20-withdrawal")
    )
    assert made.json()["component_ids"] == expected
    assert made.json()["all_components"] is False
    patched = await client.patch(
        f"{API}/{made.json()['id']}",
        json={"networks": [{"asset": "USDT", "network": "TRC20"}]},
        headers=support,
    )
    assert patched.status_code == 200, patched.text
    both = sorted([ids["USDT-TRC20-deposit"], ids["USDT-TRC20-withdrawal"]])
    assert patched.json()["component_ids"] == both


async def test_staff_naming_a_network_nothing_stands_for_get_a_422_naming_the_field(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    for choice, message in (
        (
            {"asset": "USDT", "network": "Solana"},
            "networks[0]: no component stands for USDT on Solana",
        ),
        (
            {"asset": "BTC", "network": "Bitcoin", "direction": "withdrawal"},
            "networks[0]: no component stands for BTC withdrawals on Bitcoin",
        ),
    ):
        made = await client.post(
            API,
            json={"channel": "wecom", **CHANNELS["wecom"], "networks": [choice]},
            headers=support,
        )
        assert made.status_code == 422, made.text
        assert made.json()["error"]["field"] == "networks"
        assert made.json()["error"]["message"] == message
    bad = await client.post(
        API,
        json={
            "channel": "wecom",
            **CHANNELS["wecom"],
            "networks": [{"asset": "usdt!", "network": "x"}],
        },
        headers=support,
    )
    assert bad.status_code == 422
    assert "networks" in bad.text
