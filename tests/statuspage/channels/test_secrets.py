"""Secrets stay secret: bot tokens and webhook tokens never reach a recorded error or a log
line, and the API shows a webhook's signing secret and a chat webhook's URL once and a bot
token never."""

from __future__ import annotations

import dataclasses
import logging

import httpx
import pytest
from sqlalchemy import select

from incidents.broadcasting.models import Delivery, DeliveryAttempt
from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver, Received, Reply
from tests.statuspage.console_helpers import signed_in

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
HOOK_TOKEN = "T0001/B0002/XyZsecretSlackPart1234"


def _echo(got: Received) -> Reply:
    """A receiver that answers an error quoting the address it was called at."""
    return Reply(404, f'{{"ok":false,"description":"Not Found: {got.path}"}}'.encode())


async def _deliver(database: Database, settings: Settings) -> None:
    worker = DeliveryWorker(database, settings)
    try:
        await worker.drain()
    finally:
        await worker.close()


async def _recorded_errors(database: Database) -> list[str]:
    async with database.sessionmaker() as session:
        errors = list(await session.scalars(select(DeliveryAttempt.error)))
        errors += list(await session.scalars(select(Delivery.last_error)))
    return [error or "" for error in errors]


async def _open_incident(client: httpx.AsyncClient, support: dict[str, str]) -> None:
    component = await client.post(
        "/api/staff/components", json={"name": "ETH wallet"}, headers=support
    )
    assert component.status_code == 201, component.text
    opened = await client.post(
        "/api/staff/incidents",
        json={
            "name": "ETH withdrawals delayed",
            "body": "Withdrawals are queued.",
            "components": {str(component.json()["id"]): "partial_outage"},
        },
        headers=support,
    )
    assert opened.status_code == 201, opened.text


@pytest.mark.parametrize(
    ("subscription", "secret", "shown"),
    [
        (
            {"channel": "telegram", "bot_token": BOT_TOKEN, "chat_id": "-100123"},
            BOT_TOKEN,
            "/bot[redacted]/sendMessage",
        ),
        # A chat webhook's whole path is its token.
        ({"channel": "slack", "url": f"/services/{HOOK_TOKEN}"}, HOOK_TOKEN, "[redacted]"),
    ],
)
async def test_a_failed_chat_delivery_records_and_logs_no_token(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    settings: Settings,
    http_receiver: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
    subscription: dict[str, str],
    secret: str,
    shown: str,
) -> None:
    if "url" in subscription:
        subscription = {**subscription, "url": http_receiver.url(subscription["url"])}
    made = await client.post("/api/staff/subscriptions", json=subscription, headers=support)
    assert made.status_code == 201, made.text
    await _open_incident(client, support)
    http_receiver.answer = _echo
    caplog.set_level(logging.INFO)  # httpx logs each request line at INFO
    local = dataclasses.replace(
        settings, telegram_api_url=http_receiver.url(""), delivery_timeout_seconds=2.0
    )
    await _deliver(database, local)
    [got] = http_receiver.received
    assert secret in got.path  # it was sent where it had to go
    assert [e for e in await _recorded_errors(database) if e] == [
        f'HTTP 404: {{"ok":false,"description":"Not Found: {shown}"}}'
    ] * 2
    assert "HTTP Request: POST http://127.0.0.1" in caplog.text
    assert secret not in caplog.text


async def test_secrets_are_shown_once_and_never_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    hook = await client.post(
        "/api/staff/subscriptions",
        json={"channel": "webhook", "url": "https://hooks.example.com/status"},
        headers=admin,
    )
    bot = await client.post(
        "/api/staff/subscriptions",
        json={"channel": "telegram", "bot_token": BOT_TOKEN, "chat_id": "-100123"},
        headers=admin,
    )
    assert (hook.status_code, bot.status_code) == (201, 201)
    signing_secret = hook.json()["secret"]
    assert signing_secret.startswith("whsec_")
    assert BOT_TOKEN not in bot.text
    later = [
        await client.get("/api/staff/subscriptions", headers=admin),
        await client.get(f"/api/staff/subscriptions/{hook.json()['id']}", headers=admin),
        await client.get(f"/api/staff/subscriptions/{bot.json()['id']}", headers=admin),
        await client.patch(
            f"/api/staff/subscriptions/{bot.json()['id']}",
            json={"language": "zh-CN"},
            headers=admin,
        ),
        await client.get("/api/staff/audit", headers=admin),
    ]
    deliveries = await client.get("/api/staff/deliveries", headers=admin)
    for response in [*later, deliveries]:
        assert response.status_code == 200, response.text
        assert signing_secret not in response.text
        assert BOT_TOKEN not in response.text


# A chat webhook's URL is its token: the part after the last `/`, or the query.
CHAT_HOOKS = [
    (
        "slack",
        "https://hooks.slack.com/services/T0001/B0002/XyZsecretSlackPart1234",
        "XyZsecretSlackPart1234",
        "https://hooks.slack.com/services/T0001/B0002/…",
    ),
    (
        "discord",
        "https://discord.com/api/webhooks/1234567890/dIsCoRdSeCrEt-ToKeN_abcdef?wait=true",
        "dIsCoRdSeCrEt-ToKeN_abcdef",
        "https://discord.com/api/webhooks/1234567890/…",
    ),
    (
        "feishu",
        "https://open.feishu.cn/open-apis/bot/v2/hook/8f0c2b7e-5a1d-4c3b-feishu-secret",
        "8f0c2b7e-5a1d-4c3b-feishu-secret",
        "https://open.feishu.cn/open-apis/bot/v2/hook/…",
    ),
    (
        "dingtalk",
        "https://oapi.dingtalk.com/robot/send?access_token=dingSecretToken0123456789",
        "dingSecretToken0123456789",
        "https://oapi.dingtalk.com/robot/send?…",
    ),
    (
        "wecom",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-secret-key-0123",
        "wecom-secret-key-0123",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…",
    ),
    (
        "webhook",
        "https://ops:pa55-w0rd-secret@hooks.example.com/status?token=query-secret-0123",
        "secret",
        "https://hooks.example.com/status?…",
    ),
]


@pytest.mark.parametrize(("channel", "url", "secret", "masked"), CHAT_HOOKS)
async def test_a_webhook_url_is_shown_whole_once_and_masked_after(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    database: Database,
    channel: str,
    url: str,
    secret: str,
    masked: str,
) -> None:
    made = await client.post(
        "/api/staff/subscriptions", json={"channel": channel, "url": url}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["address"] == url
    await _open_incident(client, admin)  # a delivery, whose log shows the address too
    path = f"/api/staff/subscriptions/{made.json()['id']}"
    read = await client.get(path, headers=admin)
    patched = await client.patch(path, json={"language": "zh-CN"}, headers=admin)
    listed = await client.get("/api/staff/subscriptions", headers=admin)
    deliveries = await client.get("/api/staff/deliveries", headers=admin)
    assert [read.json()["address"], patched.json()["address"]] == [masked, masked]
    assert [item["address"] for item in listed.json()] == [masked]
    assert [item["address"] for item in deliveries.json()] == [masked]
    await signed_in(client, database, StaffRole.support)
    console = await client.get("/staff/subscribers")
    assert console.status_code == 200
    for response in (read, patched, listed, deliveries, console):
        assert response.status_code == 200, response.text
        assert secret not in response.text
