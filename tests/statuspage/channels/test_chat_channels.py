"""Each HTTP broadcast channel, sent by the real worker to a real local receiver."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from incidents import flows
from incidents.broadcasting.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.models import Component
from incidents.schemas import IncidentOpen, UpdateIn
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver, Received, Reply

PAGE = "https://status.exchange.example"
NAME = "ETH withdrawals delayed"
BODY = "Withdrawals are queued."
ZH_NAME = "ETH 提现延迟"
ZH_BODY = "提现排队中，资金安全。"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Clock:
    """The worker's clock, frozen at the moment it is made and moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _actor() -> Actor:
    return Actor(staff_id=None, default_language="en")


async def _deliver(database: Database, settings: Settings, clock: Clock | None = None) -> int:
    """Runs a worker until nothing is due; returns how many deliveries it handled."""
    fast = dataclasses.replace(settings, public_url=PAGE, delivery_timeout_seconds=2.0)
    worker = DeliveryWorker(database, fast, clock=clock or Clock())
    try:
        return await worker.drain()
    finally:
        await worker.close()


async def _subscribe(database: Database, **fields: Any) -> str | None:
    """Adds a subscription; returns the secret shown once (webhooks only)."""
    async with database.sessionmaker() as session, session.begin():
        _, secret = await create_subscription(
            session, data=SubscriptionIn.model_validate(fields), actor=_actor()
        )
        return secret


async def _open(database: Database, **fields: Any) -> tuple[int, str]:
    """Opens an incident on a new "ETH wallet" component; returns its id and shortlink."""
    async with database.sessionmaker() as session, session.begin():
        wallet = Component(name="ETH wallet")
        session.add(wallet)
        await session.flush()
        data = IncidentOpen.model_validate(
            {"name": NAME, "body": BODY, "components": {wallet.id: "partial_outage"}, **fields}
        )
        incident = await flows.open_incident(session, data=data, actor=_actor())
        return incident.id, incident.shortlink


async def _post(database: Database, incident_id: int, body: str) -> None:
    async with database.sessionmaker() as session, session.begin():
        await flows.post_update(
            session,
            incident_id=incident_id,
            data=UpdateIn(status="identified", body=body),
            actor=_actor(),
        )


async def _outbox(database: Database) -> tuple[Delivery, list[DeliveryAttempt]]:
    """The one delivery of the test and its attempts, oldest first."""
    async with database.sessionmaker() as session:
        [delivery] = (await session.scalars(select(Delivery))).all()
        attempts = await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))
        return delivery, list(attempts)


def _json(received: Received) -> Any:
    assert received.headers["content-type"] == "application/json"
    return json.loads(received.body)


def _feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's documented algorithm: HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's documented algorithm: HMAC-SHA256 keyed with the secret over
    "timestamp\\nsecret", base64 (URL-encoded by the caller)."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# -- Standard Webhooks ----------------------------------------------------------------------


async def test_a_webhook_verifies_with_the_secret_shown_once_and_a_tampered_body_fails(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    secret = await _subscribe(database, channel="webhook", url=http_receiver.url())
    _, shortlink = await _open(database)
    assert await _deliver(database, settings) == 1
    [got] = http_receiver.received
    assert secret is not None and secret.startswith("whsec_")
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "incident.opened"
    assert payload["data"]["message"]["name"] == NAME
    assert payload["data"]["message"]["url"] == f"{PAGE}/incidents/{shortlink}"
    assert payload["data"]["incident"]["shortlink"] == shortlink
    tampered = got.body.replace(NAME.encode(), b"ETH withdrawals fine")
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(tampered, got.headers)


async def test_a_webhook_resent_after_a_500_keeps_its_webhook_id(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    secret = await _subscribe(database, channel="webhook", url=http_receiver.url())
    await _open(database)
    http_receiver.script = [Reply(500, b"oops")]
    clock = Clock()
    assert await _deliver(database, settings, clock) == 1
    retrying, _ = await _outbox(database)
    clock.now = retrying.next_attempt_at
    assert await _deliver(database, settings, clock) == 1
    first, again = http_receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == f"msg_{retrying.id}"
    assert first.body == again.body
    assert secret is not None
    assert Webhook(secret).verify(again.body, again.headers)["type"] == "incident.opened"
    sent, attempts = await _outbox(database)
    assert (sent.state, [attempt.status_code for attempt in attempts]) == (
        DeliveryState.sent,
        [500, 200],
    )


# -- Slack, Discord, Telegram ---------------------------------------------------------------


async def test_slack_gets_text_and_blocks_with_markup_characters_escaped(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="slack", url=http_receiver.url("/slack"))
    name, body = "BTC <deposits> & withdrawals delayed", "Queue > 1000 & <growing>"
    _, shortlink = await _open(database, name=name, body=body)
    await _deliver(database, settings)
    [got] = http_receiver.to("/slack")
    sent = _json(got)
    assert sent["text"] == "New incident: BTC &lt;deposits&gt; &amp; withdrawals delayed"
    header, section, context, link = sent["blocks"]
    # A header is plain text, which Slack shows as written.
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"New incident: {name}"},
    }
    assert section["text"] == {"type": "mrkdwn", "text": "Queue &gt; 1000 &amp; &lt;growing&gt;"}
    assert [element["text"] for element in context["elements"]] == [
        "Status: Investigating",
        "Affected: ETH wallet",
    ]
    url = f"{PAGE}/incidents/{shortlink}"
    assert link["text"]["text"] == f"<{url}|View on the status page>"


async def test_discord_gets_one_embed_that_pings_nobody(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="discord", url=http_receiver.url("/discord"))
    _, shortlink = await _open(database, body="@everyone Withdrawals are queued.")
    await _deliver(database, settings)
    [got] = http_receiver.to("/discord")
    assert _json(got) == {
        "username": "Status",
        "embeds": [
            {
                "title": f"New incident: {NAME}",
                "description": "@everyone Withdrawals are queued.\n\nAffected: ETH wallet",
                "color": 0xE5484D,
                "footer": {"text": "Status: Investigating"},
                "url": f"{PAGE}/incidents/{shortlink}",
            }
        ],
        "allowed_mentions": {"parse": []},
    }


async def test_telegram_gets_plain_text_at_the_bot_api_path(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    chat = "-1001234567890"
    await _subscribe(database, channel="telegram", bot_token=BOT_TOKEN, chat_id=chat)
    _, shortlink = await _open(database, body="Queued. *Not bold* <b>not bold</b>")
    local_api = dataclasses.replace(settings, telegram_api_url=http_receiver.url(""))
    await _deliver(database, local_api)
    [got] = http_receiver.received
    assert got.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert _json(got) == {
        "chat_id": chat,
        "text": (
            f"New incident: {NAME}\nStatus: Investigating\n\n"
            "Queued. *Not bold* <b>not bold</b>\n\nAffected: ETH wallet\n\n"
            f"Details: {PAGE}/incidents/{shortlink}"
        ),
        "disable_web_page_preview": True,
    }


async def test_telegram_cuts_a_long_body_and_keeps_the_link_within_4096_utf16_units(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="telegram", bot_token=BOT_TOKEN, chat_id="42")
    _, shortlink = await _open(database, body="🚨 delays " * 1000)  # emoji count twice
    await _deliver(database, dataclasses.replace(settings, telegram_api_url=http_receiver.url("")))
    text = _json(http_receiver.received[0])["text"]
    assert 4_000 < len(text.encode("utf-16-le")) // 2 <= 4_096
    assert text.endswith(f"…\n\nAffected: ETH wallet\n\nDetails: {PAGE}/incidents/{shortlink}")


# -- Feishu/Lark ----------------------------------------------------------------------------


async def test_feishu_gets_a_signed_post_in_chinese_for_a_zh_cn_subscription(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    secret = "feishu-signing-secret"
    await _subscribe(
        database,
        channel="feishu",
        url=http_receiver.url("/feishu"),
        secret=secret,
        language="zh-CN",
    )
    translation = {"name": ZH_NAME, "body": ZH_BODY}
    _, shortlink = await _open(database, translations={"zh-CN": translation})
    http_receiver.default = Reply(200, b'{"code":0,"msg":"success","data":{}}')
    clock = Clock()
    await _deliver(database, settings, clock)
    [got] = http_receiver.to("/feishu")
    sent = _json(got)
    assert sent["timestamp"] == str(int(clock.now.timestamp()))  # seconds, as Feishu wants
    assert sent["sign"] == _feishu_sign(secret, sent["timestamp"])
    assert sent["msg_type"] == "post"
    assert sent["content"] == {
        "post": {
            "zh_cn": {
                "title": f"新事件: {ZH_NAME}",
                "content": [
                    [{"tag": "text", "text": "状态：调查中"}],
                    [{"tag": "text", "text": ""}],
                    [{"tag": "text", "text": ZH_BODY}],
                    [{"tag": "text", "text": ""}],
                    [{"tag": "text", "text": "受影响：ETH wallet"}],
                    [{"tag": "a", "text": "在状态页查看", "href": f"{PAGE}/incidents/{shortlink}"}],
                ],
            }
        }
    }
    delivery, _ = await _outbox(database)
    assert delivery.state == DeliveryState.sent


async def test_feishu_refusing_in_a_200_reply_fails_the_delivery(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="feishu", url=http_receiver.url("/feishu"), secret="s")
    await _open(database)
    http_receiver.default = Reply(200, b'{"code":19021,"msg":"sign match fail"}')
    await _deliver(database, settings)
    delivery, attempts = await _outbox(database)
    error = "feishu error 19021: sign match fail"
    assert (delivery.state, delivery.attempts, delivery.sent_at) == (DeliveryState.failed, 1, None)
    assert delivery.last_error == error
    assert [(a.outcome, a.status_code, a.error) for a in attempts] == [
        (AttemptOutcome.failed, 200, error)
    ]
    async with database.sessionmaker() as session:
        failures = await session.scalar(select(Subscription.consecutive_failures))
    assert failures == 1
    assert len(http_receiver.received) == 1  # a refusal like this is not retried


# -- DingTalk -------------------------------------------------------------------------------


async def test_dingtalk_gets_markdown_signed_in_the_query_string(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    secret = "SEC0123456789abcdef"
    url = http_receiver.url("/robot/send?access_token=abc123")
    await _subscribe(database, channel="dingtalk", url=url, secret=secret)
    _, shortlink = await _open(database)
    http_receiver.default = Reply(200, b'{"errcode":0,"errmsg":"ok"}')
    clock = Clock()
    await _deliver(database, settings, clock)
    [got] = http_receiver.to("/robot/send")
    query = urlsplit(got.path).query
    timestamp = str(int(clock.now.timestamp() * 1000))  # milliseconds, as DingTalk wants
    sign = _dingtalk_sign(secret, timestamp)
    assert query == f"access_token=abc123&timestamp={timestamp}&sign={quote(sign, safe='')}"
    assert parse_qs(query)["sign"] == [sign]
    assert _json(got) == {
        "msgtype": "markdown",
        "markdown": {
            "title": f"New incident: {NAME}",
            "text": (
                f"### New incident: {NAME}\n\nStatus: Investigating\n\n{BODY}\n\n"
                f"- Affected: ETH wallet\n\n[View on the status page]({PAGE}/incidents/{shortlink})"
            ),
        },
    }


async def test_dingtalk_sending_too_fast_leaves_the_delivery_pending_for_a_retry(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="dingtalk", url=http_receiver.url("/robot/send"))
    await _open(database)
    http_receiver.script = [Reply(200, b'{"errcode":130101,"errmsg":"send too fast"}')]
    http_receiver.default = Reply(200, b'{"errcode":0,"errmsg":"ok"}')
    clock = Clock()
    await _deliver(database, settings, clock)
    delivery, [attempt] = await _outbox(database)
    error = "dingtalk error 130101: send too fast"
    assert (delivery.state, delivery.attempts, delivery.last_error) == (
        DeliveryState.pending,
        1,
        error,
    )
    assert (attempt.outcome, attempt.status_code, attempt.error) == (
        AttemptOutcome.retry,
        200,
        error,
    )
    wait = delivery.next_attempt_at - clock.now
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)  # the first backoff step
    assert await _deliver(database, settings, clock) == 0  # not before its time
    clock.now = delivery.next_attempt_at
    assert await _deliver(database, settings, clock) == 1
    sent, _ = await _outbox(database)
    assert (sent.state, sent.attempts, len(http_receiver.received)) == (DeliveryState.sent, 2, 2)


# -- WeCom ----------------------------------------------------------------------------------


async def test_wecom_markdown_stays_under_4096_bytes_with_a_20000_character_body(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="wecom", url=http_receiver.url("/wecom"))
    incident, _ = await _open(database)
    long_body = "资金安全" * 5000  # 20,000 characters, 60,000 bytes of UTF-8
    await _post(database, incident, long_body)
    http_receiver.default = Reply(200, b'{"errcode":0,"errmsg":"ok"}')
    assert await _deliver(database, settings) == 2
    opened, updated = (_json(got) for got in http_receiver.to("/wecom"))
    assert opened["msgtype"] == updated["msgtype"] == "markdown"
    content = updated["markdown"]["content"]
    head = f"### Incident update: {NAME}\n\nStatus: Identified\n\n"
    shown, tail = content.removeprefix(head).split("…")
    assert long_body.startswith(shown)  # only the body is cut, on a character
    # What a reader needs most survives the cut: the facts and the link to the whole text.
    assert tail.startswith("\n\n- Affected: ETH wallet\n\n[View on the status page](")
    assert 4_000 < len(content.encode()) <= 4_096


# -- languages ------------------------------------------------------------------------------


async def test_each_subscription_hears_the_incident_in_its_own_language(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, channel="slack", url=http_receiver.url("/en"), language="en")
    await _subscribe(database, channel="slack", url=http_receiver.url("/zh"), language="zh-CN")
    await _open(database, translations={"zh-CN": {"name": ZH_NAME, "body": ZH_BODY}})
    await _deliver(database, settings)
    [english] = [_json(got) for got in http_receiver.to("/en")]
    [chinese] = [_json(got) for got in http_receiver.to("/zh")]
    assert english["text"] == f"New incident: {NAME}"
    assert chinese["text"] == f"新事件: {ZH_NAME}"
    assert [block["text"]["text"] for block in english["blocks"][:2]] == [
        f"New incident: {NAME}",
        BODY,
    ]
    assert [block["text"]["text"] for block in chinese["blocks"][:2]] == [
        f"新事件: {ZH_NAME}",
        ZH_BODY,
    ]
    assert [element["text"] for element in chinese["blocks"][2]["elements"]] == [
        "状态：调查中",
        "受影响：ETH wallet",
    ]
