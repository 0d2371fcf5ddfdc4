"""Subscriptions: made by staff or by account holders (email, double opt-in), confirmed,
changed, disabled and removed; every change audited. Addresses are kept out of the audit log."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents import networks, service
from incidents.broadcasting import outbox, suppression
from incidents.broadcasting.models import (
    Audience,
    Channel,
    Delivery,
    DeliveryState,
    Subscription,
)
from incidents.broadcasting.rules import Link, link_opens
from incidents.broadcasting.schemas import PublicSubscribeIn, SubscriptionIn, SubscriptionPatch
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.common.errors import N_, Conflict, InvalidInput, NotFound


def _new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _summary(subscription: Subscription) -> dict[str, object]:
    return {
        "channel": subscription.channel.value,
        "audience": subscription.audience.value,
        "language": subscription.language,
        "component_ids": sorted(component.id for component in subscription.components),
        "confirmed": subscription.confirmed_at is not None,
        "disabled": subscription.disabled_at is not None,
    }


async def get_subscription(session: AsyncSession, *, subscription_id: int) -> Subscription:
    found = await session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .options(selectinload(Subscription.components))
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(
            N_("subscription %(subscription_id)s does not exist"),
            field="subscription_id",
            subscription_id=subscription_id,
        )
    return found


async def list_subscriptions(
    session: AsyncSession, *, channel: Channel | None, limit: int, before_id: int | None
) -> Sequence[Subscription]:
    query = (
        select(Subscription)
        .options(selectinload(Subscription.components))
        .order_by(Subscription.id.desc())
        .limit(limit)
    )
    if channel is not None:
        query = query.where(Subscription.channel == channel)
    if before_id is not None:
        query = query.where(Subscription.id < before_id)
    return (await session.scalars(query)).all()


async def create_subscription(
    session: AsyncSession, *, data: SubscriptionIn, actor: Actor
) -> tuple[Subscription, str | None]:
    """Returns the subscription and the secret to show once (webhooks only)."""
    shown: str | None = None
    if data.channel == Channel.email:
        address, secret = data.email, None
    elif data.channel == Channel.telegram:
        address, secret = data.chat_id, data.bot_token
    else:
        address, secret = data.url, data.secret
    if data.channel == Channel.webhook:
        secret = shown = _new_webhook_secret()
    assert address is not None
    confirmed = data.channel != Channel.email or data.confirmed
    if confirmed and data.channel == Channel.email:
        # Someone who unsubscribed comes back by their own click only, as imports honour.
        confirmed = not await suppression.suppressed(session, addresses=[address])
    subscription = await add_subscription(
        session,
        channel=data.channel,
        address=address,
        secret=secret,
        language=data.language,
        component_ids=await with_networks(session, data.component_ids, data.networks),
        audience=data.audience,
        options={"chat_id": data.chat_id} if data.chat_id else {},
        confirmed_at=actor.now if confirmed else None,
        created_by=actor.staff_id,
    )
    if not confirmed:
        await outbox.record_direct(
            session, subscription=subscription, kind="subscription.confirm", now=actor.now
        )
    await audit_subscription(session, actor.staff_id, "subscription.create", subscription, None)
    return subscription, shown


async def with_networks(
    session: AsyncSession, component_ids: list[int], chosen: list[networks.NetworkChoice]
) -> list[int]:
    """The component ids, and those standing for each chosen asset on a network."""
    if not chosen:
        return component_ids
    components = await service.list_components(session)
    ids = dict.fromkeys(component_ids)
    for number, choice in enumerate(chosen):
        found = networks.components_on(components, choice)
        if not found:
            way = f" {choice.direction.value}s" if choice.direction else ""
            raise InvalidInput(
                f"networks[{number}]: no component stands for {choice.asset}{way} on "
                f"{choice.network}",
                field="networks",
            )
        ids.update(dict.fromkeys(component.id for component in found))
    return list(ids)


async def subscribe_email(
    session: AsyncSession, *, data: PublicSubscribeIn, now: datetime
) -> Subscription | None:
    """An account holder asks for email from the public page. A new address gets a
    confirmation email; an unconfirmed one gets it again; a confirmed one is left alone,
    and the page says the same in every case, so it tells nobody who is subscribed."""
    existing = await session.scalar(
        select(Subscription).where(
            Subscription.channel == Channel.email, Subscription.address == data.email
        )
    )
    if existing is not None:
        waiting = await session.scalar(
            select(Delivery.id).where(
                Delivery.subscription_id == existing.id, Delivery.state == DeliveryState.pending
            )
        )
        if existing.confirmed_at is None and existing.disabled_at is None and waiting is None:
            await outbox.record_direct(
                session, subscription=existing, kind="subscription.confirm", now=now
            )
        return None
    subscription = await add_subscription(
        session,
        channel=Channel.email,
        address=data.email,
        secret=None,
        language=data.language,
        component_ids=data.component_ids,
        audience=Audience.public,
        options={},
        confirmed_at=None,
        created_by=None,
    )
    await outbox.record_direct(
        session, subscription=subscription, kind="subscription.confirm", now=now
    )
    await audit_subscription(session, None, "subscription.create", subscription, None)
    return subscription


async def add_subscription(
    session: AsyncSession,
    *,
    channel: Channel,
    address: str,
    secret: str | None,
    language: str,
    component_ids: list[int],
    audience: Audience,
    options: dict[str, str],
    confirmed_at: datetime | None,
    created_by: int | None,
) -> Subscription:
    named = await service.components_by_id(session, ids=component_ids, field="component_ids")
    subscription = Subscription(
        channel=channel,
        audience=audience,
        address=address,
        language=language,
        options=options,
        secret=secret,
        all_components=not component_ids,
        confirmed_at=confirmed_at,
        created_by=created_by,
        components=list(named.values()),
    )
    try:
        async with session.begin_nested():
            session.add(subscription)
    except IntegrityError as error:
        raise Conflict(
            N_("a %(channel)s subscription for this address already exists"),
            field="email" if channel == Channel.email else "url",
            channel=channel.value,
        ) from error
    return subscription


async def add_many(
    session: AsyncSession, *, subscriptions: Sequence[Subscription], actor_id: int | None
) -> None:
    """New subscriptions written at once (an import: the addresses were checked free), each
    audited as one `subscription.create`: a few statements for a thousand rows, not thousands."""
    session.add_all(subscriptions)
    await session.flush()
    session.add_all(
        audit.AuditEntry(
            actor_id=actor_id,
            action="subscription.create",
            entity_type="subscription",
            entity_id=subscription.id,
            after=_summary(subscription),
        )
        for subscription in subscriptions
    )
    await session.flush()


async def confirm(session: AsyncSession, *, link: Link, now: datetime) -> Subscription:
    subscription = await linked(session, link=link)
    if subscription.confirmed_at is None:
        subscription.confirmed_at = now
        if subscription.channel == Channel.email:  # the owner is back, by their own click
            await suppression.lift(session, address=subscription.address)
        await audit_subscription(session, None, "subscription.confirm", subscription, None)
    return subscription


async def set_preferences(
    session: AsyncSession, *, link: Link, language: str, component_ids: list[int]
) -> Subscription:
    subscription = await linked(session, link=link)
    before = _summary(subscription)
    named = await service.components_by_id(session, ids=component_ids, field="component_ids")
    subscription.language = language
    subscription.components = list(named.values())
    subscription.all_components = not component_ids
    await audit_subscription(session, None, "subscription.preferences", subscription, before)
    return subscription


async def unsubscribe(session: AsyncSession, *, link: Link) -> None:
    subscription = await linked(session, link=link)
    if subscription.channel == Channel.email:
        await suppression.suppress(session, address=subscription.address, now=utcnow())
    await _remove(session, subscription, actor_id=None, action="subscription.unsubscribe")


async def edit_subscription(
    session: AsyncSession, *, subscription_id: int, data: SubscriptionPatch, actor: Actor
) -> Subscription:
    subscription = await get_subscription(session, subscription_id=subscription_id)
    before = _summary(subscription)
    if data.language is not None:
        subscription.language = data.language
    if data.component_ids is not None or data.networks is not None:
        ids = await with_networks(session, data.component_ids or [], data.networks or [])
        named = await service.components_by_id(session, ids=ids, field="component_ids")
        subscription.components = list(named.values())
        subscription.all_components = not ids
    if data.enabled is False and subscription.disabled_at is None:
        subscription.disabled_at = actor.now
        subscription.disabled_reason = "disabled by staff"
        await session.execute(
            update(Delivery)
            .where(
                Delivery.subscription_id == subscription.id,
                Delivery.state == DeliveryState.pending,
            )
            .values(state=DeliveryState.cancelled, lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    if data.enabled is True and subscription.disabled_at is not None:
        subscription.disabled_at = None
        subscription.disabled_reason = None
        subscription.consecutive_failures = 0
    await session.flush()
    await audit_subscription(session, actor.staff_id, "subscription.edit", subscription, before)
    return await get_subscription(session, subscription_id=subscription.id)


async def delete_subscription(session: AsyncSession, *, subscription_id: int, actor: Actor) -> None:
    subscription = await get_subscription(session, subscription_id=subscription_id)
    await _remove(session, subscription, actor_id=actor.staff_id, action="subscription.delete")


async def send_test(session: AsyncSession, *, subscription_id: int, actor: Actor) -> Delivery:
    subscription = await get_subscription(session, subscription_id=subscription_id)
    if subscription.disabled_at is not None:
        raise Conflict(
            N_("this subscription is disabled; enable it first"), field="subscription_id"
        )
    return await outbox.record_direct(
        session, subscription=subscription, kind="subscription.test", now=actor.now
    )


async def linked(session: AsyncSession, *, link: Link) -> Subscription:
    """The subscription a link from an email was made for, if that link still opens it."""
    found = await session.get(
        Subscription,
        link.subscription_id,
        options=[selectinload(Subscription.components)],
        populate_existing=True,
    )
    if found is None or not link_opens(link, found):
        raise NotFound(N_("this subscription no longer exists"), field="token")
    return found


async def _remove(
    session: AsyncSession, subscription: Subscription, *, actor_id: int | None, action: str
) -> None:
    await audit_subscription(
        session, actor_id, action, None, _summary(subscription), entity=subscription.id
    )
    await session.execute(delete(Subscription).where(Subscription.id == subscription.id))


async def audit_subscription(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    subscription: Subscription | None,
    before: dict[str, object] | None,
    *,
    entity: int | None = None,
) -> None:
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action=action,
        entity_type="subscription",
        entity_id=subscription.id if subscription is not None else entity,
        before=before,
        after=_summary(subscription) if subscription is not None else None,
    )
