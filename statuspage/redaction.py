"""Keeps subscribers' secrets (bot tokens, signing keys, URL tokens) out of logs and records."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from incidents.broadcast_models import Subscription

REDACTED = "[redacted]"
_SHORTEST = 8  # shorter strings are too common to be a secret worth hiding (and to replace)


def secrets_of(subscription: Subscription) -> list[str]:
    """What a recorded error must never show: the secret (a Telegram bot token, a signing
    key) and the path and query of a chat webhook URL, which carry its token."""
    parts = urlsplit(subscription.address) if "://" in subscription.address else None
    found = {subscription.secret or ""}
    if parts is not None:
        found |= {parts.path, parts.query}
    return sorted((s for s in found if len(s) >= _SHORTEST), key=len, reverse=True)


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
