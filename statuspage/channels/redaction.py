"""Keeps subscribers' secrets (bot tokens, signing keys, URL tokens) out of logs and records."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import httpx

from incidents.broadcasting.models import Channel, Subscription

REDACTED = "[redacted]"
MASK = "…"
_SHORTEST = 8  # shorter strings are too common to be a secret worth hiding (and to replace)


def secrets_of(subscription: Subscription) -> list[str]:
    """What a recorded error must never show: the secret (a Telegram bot token, a signing
    key) and the path and query of a chat webhook URL, which carry its token."""
    parts = urlsplit(subscription.address) if "://" in subscription.address else None
    found = {subscription.secret or ""}
    if parts is not None:
        found |= {parts.path, parts.query}
    return sorted((s for s in found if len(s) >= _SHORTEST), key=len, reverse=True)


def shown_address(channel: Channel, address: str) -> str:
    """A subscription's address as staff see it after creation. A chat webhook's URL holds
    its token: Slack, Discord and Feishu in the last part of the path, which becomes `…`
    (with any query), DingTalk and WeCom in the query, which becomes `…`. A Standard Webhooks
    URL is the subscriber's own and keeps its path but not its query. No URL keeps a
    user:password. Email addresses and Telegram chats (the bot token is kept apart, and never
    shown) are shown as they are."""
    if channel in (Channel.email, Channel.telegram) or "://" not in address:
        return address
    parts = urlsplit(address)
    netloc = host_of(address)
    if channel == Channel.webhook or channel in _TOKEN_IN_QUERY:
        return urlunsplit((parts.scheme, netloc, parts.path, MASK if parts.query else "", ""))
    kept = parts.path.rsplit("/", 1)[0] if parts.path.count("/") > 1 else ""
    return f"{parts.scheme}://{netloc}{kept}/{MASK}"


_TOKEN_IN_QUERY = {Channel.dingtalk, Channel.wecom}


def host_of(address: str) -> str:
    """A URL's host and port, without the user:password a URL may carry; anything else (a
    Telegram chat) as it is."""
    return urlsplit(address).netloc.rpartition("@")[2] if "://" in address else address


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class _HostOnly(logging.Filter):
    """httpx logs every request's URL at INFO; a Telegram URL holds the bot's token and a
    chat webhook's its own, so only the scheme and host are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                f"{arg.scheme}://{arg.netloc.decode()}/{REDACTED}"
                if isinstance(arg, httpx.URL)
                else arg
                for arg in record.args
            )
        return True


_HOST_ONLY = _HostOnly()


def guard_httpx_log() -> None:
    """Installs the filter on httpx's logger (once, however often it is called)."""
    logging.getLogger("httpx").addFilter(_HOST_ONLY)
