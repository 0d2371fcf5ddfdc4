"""Email messages from templates: HTML and plain-text parts, RFC 8058 one-click unsubscribe.

A broadcast is rendered once per (event, language) as a `BroadcastEmail`; each subscriber's
copy fills in only what is theirs: the recipient, the message id and the signed manage and
unsubscribe links.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime

from markupsafe import escape

from incidents.broadcasting.models import Subscription
from statuspage.access.signing import Signer
from statuspage.channels.messages import Message
from statuspage.channels.mime import (
    Alternative,
    Email,
    Part,
    envelope_sender,
    header,
    mark,
    to_header,
)
from statuspage.config import Settings
from statuspage.i18n import t
from statuspage.markdown import render
from statuspage.site import Site
from statuspage.templating import environment

__all__ = ["CONFIRM_FOR", "BroadcastEmail", "Email", "confirmation_email", "links"]

CONFIRM_FOR = timedelta(hours=48)

_env = environment(keep_trailing_newline=True)


def links(signer: Signer, subscription: Subscription, site: Site) -> dict[str, str]:
    """The manage and unsubscribe links of a subscription (they do not expire; a new token
    version revokes them). Each carries the row's nonce: it opens this row and no other."""
    version, nonce = subscription.token_version, subscription.nonce
    manage = signer.make("manage", subscription.id, version, nonce=nonce)
    leave = signer.make("unsubscribe", subscription.id, version, nonce=nonce)
    return {
        "manage_url": f"{site.url}/subscriptions/manage?token={manage}",
        "unsubscribe_url": f"{site.url}/subscriptions/unsubscribe?token={leave}",
    }


class BroadcastEmail:
    """One event's email in one language, rendered once for all its subscribers."""

    def __init__(self, *, message: Message, site: Site, settings: Settings) -> None:
        lang = message.language
        site = site.in_language(lang)
        self.site = site
        self.sender = envelope_sender(settings.mail_from)
        self._domain = _domain(settings)
        values = {
            "message": message,
            "site": site,
            "lang": lang,
            "manage_url": mark("manage_url"),
            "unsubscribe_url": mark("unsubscribe_url"),
        }
        text = _render("broadcast.txt", t=_t(lang), **values)
        html = _render("broadcast.html", t=_t(lang), body_html=render(message.body), **values)
        self._parts = Alternative(Part("plain", text), Part("html", html, escape=_html))
        self._shared = _shared_headers(message.subject, settings, lang, one_click=True)

    def to(
        self, subscription: Subscription, *, signer: Signer, message_id: str, now: datetime
    ) -> Email:
        """The copy for `subscription`, with its own links."""
        urls = links(signer, subscription, self.site)
        address = subscription.address
        content = b"".join(
            [
                self._shared,
                _own_headers(address, message_id, self._domain, now),
                b"List-Unsubscribe: <%s>\r\n" % urls["unsubscribe_url"].encode(),
                self._parts.head,
                self._parts.body(urls),
            ]
        )
        return Email(self.sender, address, content, utf8=not (address + self.sender).isascii())


def confirmation_email(
    *,
    subscription: Subscription,
    signer: Signer,
    site: Site,
    settings: Settings,
    message_id: str,
    now: datetime,
) -> Email:
    lang = subscription.language
    site = site.in_language(lang)
    token = signer.make(
        "confirm",
        subscription.id,
        subscription.token_version,
        expires=now + CONFIRM_FOR,
        nonce=subscription.nonce,
    )
    subject = f"[{site.name}] {t(lang, 'broadcast.kind.subscription.confirm')}"
    values = {
        "site": site,
        "lang": lang,
        "subject": subject,
        "hours": int(CONFIRM_FOR.total_seconds() // 3600),
        "confirm_url": f"{site.url}/subscriptions/confirm?token={token}",
    }
    parts = Alternative(
        Part("plain", _render("confirm.txt", t=_t(lang), **values)),
        Part("html", _render("confirm.html", t=_t(lang), **values)),
    )
    address = subscription.address
    content = b"".join(
        [
            _shared_headers(subject, settings, lang, one_click=False),
            _own_headers(address, message_id, _domain(settings), now),
            parts.head,
            parts.body({}),
        ]
    )
    sender = envelope_sender(settings.mail_from)
    return Email(sender, address, content, utf8=not (address + sender).isascii())


def _shared_headers(subject: str, settings: Settings, lang: str, *, one_click: bool) -> bytes:
    lines = [
        header("Subject", subject),
        header("From", settings.mail_from, utf8=not envelope_sender(settings.mail_from).isascii()),
        b"Auto-Submitted: auto-generated\r\n",
        header("Content-Language", lang),
    ]
    if one_click:
        lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    return b"".join(lines)


def _own_headers(address: str, message_id: str, domain: str, now: datetime) -> bytes:
    # The same id on every attempt: a resent message is recognisably the same message.
    return b"".join(
        [
            to_header(address),
            f"Date: {format_datetime(now)}\r\nMessage-ID: <{message_id}@{domain}>\r\n".encode(),
        ]
    )


def _domain(settings: Settings) -> str:
    return envelope_sender(settings.mail_from).rpartition("@")[2] or "localhost"


def _html(value: str) -> str:
    return str(escape(value))


def _render(template: str, **values: object) -> str:
    return _env.get_template(f"email/{template}").render(**values)


def _t(lang: str) -> Callable[..., str]:
    def translate(key: str, **params: object) -> str:
        return t(lang, key, **params)

    return translate
