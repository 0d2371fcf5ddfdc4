"""The hostile corpus through every broadcast: email (headers and both parts), the signed
webhook and each chat platform's format, sent by the real worker to real local receivers."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from statuspage.channels.mime import header
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.hostile import BODIES, NAMES, scan
from tests.receivers import HttpReceiver, Received, SmtpReceiver

API = "/api/staff"
PAGE = "https://status.exchange.example"
ADDRESS = "ops@example.com"
CHAT_ID = "-1001234567890"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
# A Markdown link or image, and the platforms' mention forms that would ping or link.
_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)]*)\)")
_SLACK_CONTROL = re.compile(r"<[!@#]|<(?!https://status\.exchange\.example/)[a-z]+:")


async def _subscribe_everywhere(database: Database, receiver: HttpReceiver) -> None:
    channels: list[dict[str, Any]] = [
        {"channel": "email", "email": ADDRESS, "confirmed": True},
        {"channel": "telegram", "bot_token": BOT_TOKEN, "chat_id": CHAT_ID},
    ]
    channels += [
        {"channel": name, "url": receiver.url(f"/{name}")}
        for name in ("webhook", "slack", "discord", "feishu", "dingtalk", "wecom")
    ]
    async with database.sessionmaker() as session, session.begin():
        for fields in channels:
            await create_subscription(
                session,
                data=SubscriptionIn.model_validate(fields),
                actor=Actor(staff_id=None, default_language="en"),
            )


@pytest.fixture
async def opened(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    mail_settings: Settings,
    http_receiver: HttpReceiver,
) -> list[dict[str, Any]]:
    """Every hostile name opened as an incident and broadcast to every channel; the
    incidents as the staff API answered."""
    receiver, settings = http_receiver, mail_settings
    await _subscribe_everywhere(database, receiver)
    component = await client.post(f"{API}/components", json={"name": "BTC"}, headers=support)
    incidents = []
    for number, name in enumerate(NAMES):
        answer = await client.post(
            f"{API}/incidents",
            json={
                "name": name,
                "body": BODIES[number % len(BODIES)],
                "cause": name,
                "components": {str(component.json()["id"]): "major_outage"},
            },
            headers=support,
        )
        assert answer.status_code == 201, answer.text
        incidents.append(answer.json())
    fast = dataclasses.replace(
        settings, public_url=PAGE, telegram_api_url=receiver.url(""), delivery_timeout_seconds=2.0
    )
    worker = DeliveryWorker(database, fast)
    try:
        assert await worker.drain() == 8 * len(NAMES)
    finally:
        await worker.close()
    return incidents


def _each(receiver: HttpReceiver, path: str) -> list[Any]:
    got: list[Received] = receiver.to(path)
    assert len(got) == len(NAMES), path
    return [json.loads(item.body) for item in got]  # every body is JSON that parses


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.mark.usefixtures("opened")
async def test_hostile_names_reach_email_as_one_subject_and_inert_parts(
    smtp_receiver: SmtpReceiver,
) -> None:
    messages = smtp_receiver.messages
    assert [recipients for recipients, _ in messages] == [[ADDRESS]] * len(NAMES)
    subjects = sorted(str(message["Subject"]) for _, message in messages)
    assert subjects == sorted(f"[Exchange] New incident: {name}" for name in NAMES)
    for raw in smtp_receiver.inbox.raw:
        head = raw.split(b"\r\n\r\n", 1)[0]
        names = [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]
        assert b"Bcc" not in names and names.count(b"To") == 1 and names.count(b"Subject") == 1
        assert max(len(line) for line in head.split(b"\r\n")) <= 998
    for _, message in messages:
        html = _part(message, "html")
        assert scan(html).harmful == [], message["Subject"]
        assert str(message["Subject"]).split(": ", 1)[1] in _part(message, "plain")


async def test_hostile_names_reach_the_webhook_exactly_and_every_chat_inert(
    opened: list[dict[str, Any]], http_receiver: HttpReceiver
) -> None:
    hooks = _each(http_receiver, "/webhook")
    assert sorted(hook["data"]["message"]["name"] for hook in hooks) == sorted(NAMES)
    assert sorted(hook["data"]["incident"]["name"]["en"] for hook in hooks) == sorted(NAMES)
    bodies = {o["name"]: o["updates"][0]["body"] for o in opened}
    for hook in hooks:  # what staff wrote, to the character, for receivers that render it
        assert hook["data"]["message"]["body"] == bodies[hook["data"]["message"]["name"]]

    for slack in _each(http_receiver, "/slack"):
        # plain_text (the header) shows as typed; mrkdwn and the fallback text are parsed
        parts = [b["text"] for b in slack["blocks"] if "text" in b]
        parts += [e for b in slack["blocks"] for e in b.get("elements", [])]
        texts = [slack["text"]] + [part["text"] for part in parts if part["type"] == "mrkdwn"]
        assert [text for text in texts if _SLACK_CONTROL.search(text)] == []
    for discord in _each(http_receiver, "/discord"):
        assert discord["allowed_mentions"] == {"parse": []}
        [embed] = discord["embeds"]
        assert _MARKDOWN_LINK.findall(embed["description"]) == []
    for path in ("/dingtalk", "/wecom"):
        for sent in _each(http_receiver, path):
            text = sent["markdown"].get("text") or sent["markdown"]["content"]
            assert [url.split("/incidents/")[0] for url in _MARKDOWN_LINK.findall(text)] == [PAGE]
            assert "<@" not in text
    for feishu in _each(http_receiver, "/feishu"):
        [post] = feishu["content"]["post"].values()
        tags = [item for line in post["content"] for item in line]
        assert {item["tag"] for item in tags} == {"text", "a"}
        assert [item["href"].split("/incidents/")[0] for item in tags if item["tag"] == "a"] == [
            PAGE
        ]
    telegrams = _each(http_receiver, f"/bot{BOT_TOKEN}/sendMessage")
    assert all("parse_mode" not in sent and sent["chat_id"] == CHAT_ID for sent in telegrams)
    assert sorted(sent["text"].split("\n")[0] for sent in telegrams) == sorted(
        f"New incident: {name}" for name in NAMES
    )


@pytest.mark.usefixtures("opened")
async def test_a_phishing_link_in_chat_markdown_is_written_out_not_hidden(
    http_receiver: HttpReceiver,
) -> None:
    wecom = [sent["markdown"]["content"] for sent in _each(http_receiver, "/wecom")]
    [phish] = [text for text in wecom if "evil.example/login" in text.split("\n")[0]]
    assert phish.split("\n")[0] == (
        "### New incident: https://exchange.example/login (https://evil.example/login)"
    )
    images = [text for text in wecom if "p.png" in text]
    written_out = "Claim refund (https://evil.example) and pixel (https://evil.example/p.png)"
    assert len(images) == len(NAMES[3 :: len(BODIES)])
    assert all(written_out in text for text in images)


def test_a_folded_subject_keeps_every_space_between_encoded_words() -> None:
    subjects = [
        "[交易所] 新事件: BTC 充值 延迟，我们 正在 处理 这个 问题 请 耐心 等待 谢谢 大家 的 理解",
        "[Exchange] New incident: Exch\u200bange\u200c with\u200d zero\ufeffwidth",
        "[Exchange] New incident: " + "提" * 200,
    ]
    for subject in subjects:
        folded = header("Subject", subject)
        assert max(len(line) for line in folded.split(b"\r\n")) <= 78
        parsed = email.message_from_bytes(folded + b"\r\n", policy=email.policy.default)
        assert parsed["Subject"] == subject
