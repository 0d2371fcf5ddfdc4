"""Email messages from templates: HTML and plain-text parts, RFC 8058 one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from incidents.broadcast_models import Subscription
from statuspage.config import Settings
from statuspage.i18n import t
from statuspage.markdown import render
from statuspage.messages import Message
from statuspage.public_state import Site
from statuspage.signing import Signer

CONFIRM_FOR = timedelta(hours=48)

_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def links(signer: Signer, subscription: Subscription, site: Site) -> dict[str, str]:
    """The manage and unsubscribe links of a subscription (they do not expire; a new token
    version revokes them)."""
    version = subscription.token_version
    manage = signer.make("manage", subscription.id, version)
    leave = signer.make("unsubscribe", subscription.id, version)
    return {
        "manage_url": f"{site.url}/subscriptions/manage?token={manage}",
        "unsubscribe_url": f"{site.url}/subscriptions/unsubscribe?token={leave}",
    }


def broadcast_email(
    *,
    message: Message,
    subscription: Subscription,
    signer: Signer,
    site: Site,
    settings: Settings,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    lang = subscription.language
    urls = links(signer, subscription, site)
    values = {"message": message, "site": site, "lang": lang, **urls}
    email = _envelope(
        subject=message.subject,
        to=subscription.address,
        settings=settings,
        message_id=message_id,
        now=now,
        lang=lang,
    )
    email["List-Unsubscribe"] = f"<{urls['unsubscribe_url']}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(_text("broadcast.txt", t=_t(lang), **values))
    email.add_alternative(
        _env.get_template("email/broadcast.html").render(
            t=_t(lang), body_html=render(message.body), **values
        ),
        subtype="html",
    )
    email["Content-Language"] = lang  # after the parts: set_content drops Content-* headers
    return email


def confirmation_email(
    *,
    subscription: Subscription,
    signer: Signer,
    site: Site,
    settings: Settings,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    lang = subscription.language
    token = signer.make(
        "confirm", subscription.id, subscription.token_version, expires=now + CONFIRM_FOR
    )
    subject = f"[{site.name}] {t(lang, 'broadcast.kind.subscription.confirm')}"
    values = {
        "site": site,
        "lang": lang,
        "subject": subject,
        "hours": int(CONFIRM_FOR.total_seconds() // 3600),
        "confirm_url": f"{site.url}/subscriptions/confirm?token={token}",
    }
    email = _envelope(
        subject=subject,
        to=subscription.address,
        settings=settings,
        message_id=message_id,
        now=now,
        lang=lang,
    )
    email.set_content(_text("confirm.txt", t=_t(lang), **values))
    email.add_alternative(
        _env.get_template("email/confirm.html").render(t=_t(lang), **values), subtype="html"
    )
    email["Content-Language"] = lang
    return email


def _envelope(
    *, subject: str, to: str, settings: Settings, message_id: str, now: datetime, lang: str
) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = settings.mail_from
    email["To"] = to
    email["Date"] = format_datetime(now)
    domain = settings.mail_from.rpartition("@")[2].strip(">") or "localhost"
    # The same id on every attempt: a resent message is recognisably the same message.
    email["Message-ID"] = f"<{message_id}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"
    return email


def _text(template: str, **values: object) -> str:
    return _env.get_template(f"email/{template}").render(**values)


def _t(lang: str) -> Callable[..., str]:
    def translate(key: str, **params: object) -> str:
        return t(lang, key, **params)

    return translate
