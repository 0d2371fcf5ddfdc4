"""Console pages for subscribers and channels: the list, adding an email, a webhook or a chat
channel (its secret shown once), one subscriber's settings and deliveries, disabling, a test
message and deleting, each through the audited subscription flows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import service
from incidents.broadcasting import deliveries as delivery_log
from incidents.broadcasting import subscriptions as subscription_flows
from incidents.broadcasting.models import Audience, Channel, Delivery, Subscription
from incidents.broadcasting.schemas import SubscriptionIn, SubscriptionPatch
from incidents.common.staff import SUPPORT
from incidents.schemas import LANGUAGES
from statuspage.channels import egress, redaction
from statuspage.console import forms as console_forms
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError

SUBSCRIBERS_PAGE = 100
CHATS = [Channel.slack, Channel.discord, Channel.feishu, Channel.dingtalk, Channel.wecom]
_FIELDS = ["channel", "email", "url", "bot_token", "chat_id", "secret", "language"]
_FIELDS += ["component_ids", "audience", "confirmed"]
_ADDRESSES = {"email": Channel.email, "webhook": Channel.webhook, "telegram": Channel.telegram}


def routes() -> list[Page]:
    one = "/subscribers/{subscription_id:id}"
    return [
        route("/subscribers", subscribers, SUPPORT),
        route("/subscribers", add_subscriber, SUPPORT, methods=["POST"]),
        route(one, subscriber_page, SUPPORT),
        route(one, edit_subscriber, SUPPORT, methods=["POST"]),
        route(one + "/enabled", set_enabled, SUPPORT, methods=["POST"]),
        route(one + "/test", send_test, SUPPORT, methods=["POST"]),
        route(one + "/delete", delete_page, SUPPORT),
        route(one + "/delete", delete_subscriber, SUPPORT, methods=["POST"]),
    ]


def masked(subscription: Subscription) -> str:
    """Enough of an address to tell subscribers apart, not enough to copy a mailing list."""
    address = subscription.address
    if subscription.channel == Channel.email:
        local, _, domain = address.partition("@")
        return f"{local[:1]}…@{domain}"
    return redaction.host_of(address)


def _collapsed(errors: dict[str, str]) -> dict[str, str]:
    """An unknown component's error (`component_ids.<id>`) shown beside the checkboxes."""
    return {
        "component_ids" if name.startswith("component_ids.") else name: text
        for name, text in errors.items()
    }


# -- the list and the forms that add ------------------------------------------------------


async def subscribers(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    query = console.request.query_params
    raw = query.get("channel", "")
    channel = Channel(raw) if raw in {item.value for item in Channel} else None
    raw_before = query.get("before_id", "")
    before = int(raw_before) if raw_before.isdigit() and int(raw_before) < 2**31 else None

    async def load(db: AsyncSession) -> list[Subscription]:
        found = await subscription_flows.list_subscriptions(
            db, channel=channel, limit=SUBSCRIBERS_PAGE, before_id=before
        )
        return list(found)

    found = await console.read(load)
    return console.render(
        "subscribers.html",
        status=status,
        subscriptions=[(item, masked(item)) for item in found],
        channels=list(Channel),
        chats=CHATS,
        channel=channel.value if channel else "",
        more=len(found) == SUBSCRIBERS_PAGE,
        components=await console.read(service.list_components),
        languages=LANGUAGES,
        values=values or {},
        **extra,
    )


def _optional(console: Console, name: str) -> str | None:
    return console.field(name) or None


def _subscription_in(console: Console) -> SubscriptionIn:
    """The form of one kind (`kind`: email, webhook, telegram or chat) as the API's input:
    only that kind's address fields, so another form's leftovers cannot be sent."""
    kind = console.field("kind")
    channel: Any = _ADDRESSES.get(kind) or console.field("channel")
    fields = {
        "email": ["email"],
        "webhook": ["url"],
        "telegram": ["bot_token", "chat_id"],
    }.get(kind, ["url"])
    data: dict[str, Any] = {
        "channel": channel,
        **{name: _optional(console, name) for name in fields},
        **({"secret": _optional(console, "signing_key")} if kind == "chat" else {}),
        "language": console.field("language") or "en",
        "component_ids": console.fields("component_ids"),
        "audience": console.field("audience") or Audience.public.value,
    }
    if kind == "email":
        data["confirmed"] = console.field("confirmed") == "on"
    result: SubscriptionIn = console.parse(SubscriptionIn, data)
    return result


async def add_subscriber(console: Console) -> Response:
    """The new subscriber's page, answered to this POST: the only time a webhook's secret
    and a chat webhook's whole URL (its token) are shown."""
    kind = console.field("kind")
    try:
        data = _subscription_in(console)
        if data.url is not None:
            refused = egress.refused_url(
                data.url, allow_private=console.settings.allow_private_webhook_hosts
            )
            if refused is not None:
                raise FormError({"url": refused})
        made, secret = await console.write(
            lambda db: subscription_flows.create_subscription(db, data=data, actor=console.actor())
        )
    except FormError as error:
        values = {**console_forms.entered(console), "kind": kind}
        errors = placed(_collapsed(error.errors), kind, _FIELDS)
        if f"{kind}.secret" in errors:
            errors[f"{kind}.signing_key"] = errors.pop(f"{kind}.secret")
        return await subscribers(console, status=error.status, values=values, errors=errors)
    return await subscriber_page(
        console, subscription_id=made.id, created=True, secret=secret, address=made.address
    )


# -- one subscriber -----------------------------------------------------------------------


async def subscriber_page(
    console: Console,
    *,
    subscription_id: int | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    subscription_id = subscription_id or console.id("subscription_id")

    async def load(db: AsyncSession) -> tuple[Subscription, list[Delivery]]:
        found = await subscription_flows.get_subscription(db, subscription_id=subscription_id)
        deliveries = await delivery_log.list_deliveries(
            db, subscription_id=subscription_id, limit=50
        )
        return found, list(deliveries)

    subscription, deliveries = await console.read(load)
    chosen = [str(component.id) for component in subscription.components]
    return console.render(
        "subscriber.html",
        status=status,
        subscription=subscription,
        shown=redaction.shown_address(subscription.channel, subscription.address),
        short=masked(subscription),
        deliveries=deliveries,
        components=await console.read(service.list_components),
        languages=LANGUAGES,
        chosen=extra.pop("chosen", chosen),
        **extra,
    )


async def _change(console: Console, change: Any, done: str) -> Response:
    subscription_id = console.id("subscription_id")
    try:
        await console.write(lambda db: change(db, subscription_id))
    except FormError as error:
        return await subscriber_page(
            console,
            status=error.status,
            errors=placed(_collapsed(error.errors), "hears", ["language", "component_ids"]),
            chosen=console.fields("component_ids"),
        )
    return console.redirect(f"/staff/subscribers/{subscription_id}", done=done)


async def edit_subscriber(console: Console) -> Response:
    async def change(db: AsyncSession, subscription_id: int) -> Subscription:
        data = {
            "language": console.field("language"),
            "component_ids": console.fields("component_ids"),
        }
        patch: SubscriptionPatch = console.parse(SubscriptionPatch, data)
        return await subscription_flows.edit_subscription(
            db, subscription_id=subscription_id, data=patch, actor=console.actor()
        )

    return await _change(console, change, "subscriber_saved")


async def set_enabled(console: Console) -> Response:
    enabled = console.field("enabled") == "true"

    async def change(db: AsyncSession, subscription_id: int) -> Subscription:
        return await subscription_flows.edit_subscription(
            db,
            subscription_id=subscription_id,
            data=SubscriptionPatch(enabled=enabled),
            actor=console.actor(),
        )

    return await _change(
        console, change, "subscriber_enabled" if enabled else "subscriber_disabled"
    )


async def send_test(console: Console) -> Response:
    async def change(db: AsyncSession, subscription_id: int) -> Delivery:
        return await subscription_flows.send_test(
            db, subscription_id=subscription_id, actor=console.actor()
        )

    return await _change(console, change, "test_queued")


async def delete_page(console: Console) -> Response:
    """Asked before deleting (no JavaScript needed): the subscriber and its delivery log go."""
    subscription_id = console.id("subscription_id")
    subscription = await console.read(
        lambda db: subscription_flows.get_subscription(db, subscription_id=subscription_id)
    )
    return console.render(
        "subscriber_delete.html", subscription=subscription, short=masked(subscription)
    )


async def delete_subscriber(console: Console) -> Response:
    subscription_id = console.id("subscription_id")
    await console.write(
        lambda db: subscription_flows.delete_subscription(
            db, subscription_id=subscription_id, actor=console.actor()
        )
    )
    return console.redirect("/staff/subscribers", done="subscriber_deleted")
