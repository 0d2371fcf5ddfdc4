"""Each HTTP channel's request: Standard Webhooks JSON, and the chat platforms' own formats
(Slack, Discord, Telegram, Feishu/Lark, DingTalk, WeCom), signed where the platform signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from standardwebhooks import Webhook

from incidents.broadcasting.models import Channel, Subscription
from statuspage.channels.messages import Message
from statuspage.i18n import t
from statuspage.site import Site


@dataclass(frozen=True)
class Outgoing:
    url: str
    body: bytes
    headers: dict[str, str]


def _utf8(text: str) -> int:
    return len(text.encode())


def _utf16(text: str) -> int:  # how Telegram counts
    return len(text.encode("utf-16-le")) // 2


def within(
    message: Message, render: Callable[[Message], str], limit: int, measure: Callable[[str], int]
) -> str:
    """`render(message)`, with the body shortened (ending in …) if that is what it takes to
    stay within the platform's limit: the status, facts and link are never the part cut."""
    whole = render(message)
    if measure(whole) <= limit:
        return whole
    room = limit - measure(render(replace(message, body="…")))
    body = message.body
    low, high = 0, len(body)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if measure(body[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return render(replace(message, body=body[:low] + "…"))


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_body(
    *, kind: str, created_at: datetime, payload: dict[str, Any], message: Message, site: Site
) -> bytes:
    """The Standard Webhooks payload shape: type, timestamp, data. `data` carries the message
    in the subscriber's language and the event's own data in every language it exists in."""
    return _json(
        {
            "type": kind,
            "timestamp": created_at.isoformat(),
            "data": {
                "page": {"name": site.name, "url": site.url},
                "language": message.language,
                "message": {
                    "subject": message.subject,
                    "headline": message.headline,
                    "name": message.name,
                    "status": message.status,
                    "body": message.body,
                    "facts": message.facts,
                    "url": message.url,
                },
                **payload,
            },
        }
    )


def signed_webhook(
    subscription: Subscription, *, message_id: str, body: bytes, now: datetime
) -> Outgoing:
    assert subscription.secret is not None
    signature = Webhook(subscription.secret).sign(message_id, now, body.decode())
    return Outgoing(
        url=subscription.address,
        body=body,
        headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        },
    )


def chat(
    subscription: Subscription, message: Message, *, site: Site, telegram_api: str, now: datetime
) -> Outgoing:
    build = _CHAT[subscription.channel]
    return build(subscription, message, site.in_language(message.language), telegram_api, now)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(sub: Subscription, message: Message, site: Site, _api: str, _now: datetime) -> Outgoing:
    title = f"{message.headline}: {message.name}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": within(message, lambda m: _slack_escape(m.body), 3000, len) or " ",
            },
        },
    ]
    context = [message.status, *message.facts]
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _slack_escape(line)[:3000]} for line in context[:10]
            ],
        }
    )
    if message.url:
        label = t(message.language, "email.view_on_page")
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{message.url}|{_slack_escape(label)}>"},
            }
        )
    return Outgoing(
        sub.address,
        _json({"text": _slack_escape(title), "blocks": blocks, "unfurl_links": False}),
        {"content-type": "application/json"},
    )


_COLORS = {"incident": 0xE5484D, "maintenance": 0x3E63DD, "staff": 0xF5A524}
_RESOLVED = {"incident.resolved", "maintenance.completed"}


def _discord(
    sub: Subscription, message: Message, site: Site, _api: str, _now: datetime
) -> Outgoing:
    color = 0x30A46C if message.kind in _RESOLVED else _COLORS.get(message.kind.split(".")[0], 0)
    embed: dict[str, Any] = {
        "title": f"{message.headline}: {message.name}"[:256],
        "description": within(message, _discord_description, 4096, len),
        "color": color,
        "footer": {"text": message.status[:2048]},
    }
    if message.url:
        embed["url"] = message.url
    return Outgoing(
        sub.address,
        # No @everyone or role pings, whatever the text says.
        _json({"username": site.name[:80], "embeds": [embed], "allowed_mentions": {"parse": []}}),
        {"content-type": "application/json"},
    )


def _discord_description(message: Message) -> str:
    return unmask("\n\n".join(part for part in (message.body, "\n".join(message.facts)) if part))


# A Markdown link or image, as Discord, DingTalk and WeCom render them: [text](target "title").
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[^)\n]*)?\)")


def unmask(text: str) -> str:
    """Chat Markdown with every link written out: "[Claim](https://evil.example)" becomes
    "Claim (https://evil.example)" and an image its alt text and address. A reader sees where a
    link goes before following it (a link's text cannot pretend to be our site), no remote image
    loads in the chat, and a javascript: target is only text. Our own page link is added after."""
    while True:  # "[[a](b)](c)" leaves a link after one pass; each pass removes at least one
        unmasked = _LINK.sub(_written_out, text)
        if unmasked == text:
            return text.replace("<@", "<\u200b@")  # WeCom's <@userid> mention, made inert
        text = unmasked


def _written_out(link: re.Match[str]) -> str:
    label, target = link.group(1).strip(), link.group(2)
    return target if label in {"", target} else f"{label} ({target})"


def _telegram(
    sub: Subscription, message: Message, _site: Site, api: str, _now: datetime
) -> Outgoing:
    # Plain text (no parse_mode): nothing staff or anyone writes can turn into markup.
    return Outgoing(
        f"{api}/bot{sub.secret}/sendMessage",
        _json(
            {
                "chat_id": sub.options["chat_id"],
                "text": within(message, lambda m: m.text, 4096, _utf16),
                "disable_web_page_preview": True,
            }
        ),
        {"content-type": "application/json"},
    )


_PART_BREAK = "\x1e"  # splits what `_plain_parts` joined; never in text we send


def _plain_parts(message: Message) -> str:
    return _PART_BREAK.join([message.status, message.body, *message.facts, message.url])


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu/Lark custom bots: HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _feishu(sub: Subscription, message: Message, _site: Site, _api: str, now: datetime) -> Outgoing:
    # Custom bots take requests up to 20 KB; the body gets what the rest leaves of 16 KB.
    body = within(message, _plain_parts, 16_000, _utf8).split(_PART_BREAK)[1]
    lines = [message.status, "", *body.splitlines(), "", *message.facts]
    content: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in lines]
    if message.url:
        label = t(message.language, "email.view_on_page")
        content.append([{"tag": "a", "text": label, "href": message.url}])
    locale = "zh_cn" if message.language == "zh-CN" else "en_us"
    data: dict[str, Any] = {
        "msg_type": "post",
        "content": {
            "post": {locale: {"title": f"{message.headline}: {message.name}", "content": content}}
        },
    }
    if sub.secret:
        timestamp = int(now.timestamp())
        data = {"timestamp": str(timestamp), "sign": feishu_sign(sub.secret, timestamp), **data}
    return Outgoing(sub.address, _json(data), {"content-type": "application/json"})


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk custom robots: HMAC-SHA256 keyed with the secret over "timestamp\\nsecret"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _markdown(message: Message) -> str:
    parts = [f"### {message.headline}: {message.name}", message.status, message.body]
    parts += [f"- {fact}" for fact in message.facts]
    text = unmask("\n\n".join(part for part in parts if part))
    if message.url:
        text += f"\n\n[{t(message.language, 'email.view_on_page')}]({message.url})"
    return text


def _dingtalk(
    sub: Subscription, message: Message, _site: Site, _api: str, now: datetime
) -> Outgoing:
    url = sub.address
    if sub.secret:
        timestamp_ms = int(now.timestamp() * 1000)
        sign = quote_plus(dingtalk_sign(sub.secret, timestamp_ms))
        url += f"{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"
    text = within(message, _markdown, 16_000, _utf8)
    body = {
        "msgtype": "markdown",
        "markdown": {"title": f"{message.headline}: {message.name}", "text": text},
    }
    return Outgoing(url, _json(body), {"content-type": "application/json"})


def _wecom(sub: Subscription, message: Message, _site: Site, _api: str, _now: datetime) -> Outgoing:
    content = within(message, _markdown, 4096, _utf8)  # WeCom's limit, in bytes
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    return Outgoing(sub.address, _json(body), {"content-type": "application/json"})


_CHAT = {
    Channel.slack: _slack,
    Channel.discord: _discord,
    Channel.telegram: _telegram,
    Channel.feishu: _feishu,
    Channel.dingtalk: _dingtalk,
    Channel.wecom: _wecom,
}


def platform_error(channel: Channel, response_body: bytes) -> tuple[bool, str] | None:
    """Feishu, DingTalk and WeCom answer 200 with an error code in the body. Returns
    (worth_retrying, description) for such an error, None when the message was taken."""
    if channel not in {Channel.feishu, Channel.dingtalk, Channel.wecom}:
        return None
    try:
        answer = json.loads(response_body or b"{}")
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    code = answer.get("code", answer.get("errcode", answer.get("StatusCode", 0)))
    if not code:
        return None
    text = str(answer.get("msg") or answer.get("errmsg") or answer.get("StatusMessage") or "")
    return code in _RATE_LIMITED, f"{channel.value} error {code}: {text}"[:500]


# "Sending too fast" codes: Feishu 9499 / 11232, DingTalk 130101, WeCom 45009.
_RATE_LIMITED = {9499, 11232, 130101, 45009}
