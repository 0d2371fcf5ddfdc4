"""Subscriptions: made by staff or by account holders (email, double opt-in), confirmed,
changed, disabled and removed; every change audited. Addresses are kept out of the audit log."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents import service
from incidents.broadcasting import outbox
from incidents.broadcasting.models import (
    Audience,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from incidents.broadcasting.rules import Link, link_opens
from incidents.broadcasting.schemas import PublicSubscribeIn, SubscriptionIn, SubscriptionPatch
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, NotFound


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
    subscription = await add_subscription(
        session,
        channel=data.channel,
        address=address,
        secret=secret,
        language=data.language,
        component_ids=data.component_ids,
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


async def confirm(session: AsyncSession, *, link: Link, now: datetime) -> Subscription:
    subscription = await linked(session, link=link)
    if subscription.confirmed_at is None:
        subscription.confirmed_at = now
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
    await _remove(session, subscription, actor_id=None, action="subscription.unsubscribe")


async def edit_subscription(
    session: AsyncSession, *, subscription_id: int, data: SubscriptionPatch, actor: Actor
) -> Subscription:
    subscription = await get_subscription(session, subscription_id=subscription_id)
    before = _summary(subscription)
    if data.language is not None:
        subscription.language = data.language
    if data.component_ids is not None:
        named = await service.components_by_id(
            session, ids=data.component_ids, field="component_ids"
        )
        subscription.components = list(named.values())
        subscription.all_components = not data.component_ids
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


async def list_deliveries(
    session: AsyncSession,
    *,
    subscription_id: int | None = None,
    incident_id: int | None = None,
    maintenance_id: int | None = None,
    state: DeliveryState | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> Sequence[Delivery]:
    from incidents.broadcasting.models import BroadcastEvent

    query = (
        select(Delivery)
        .join(BroadcastEvent, BroadcastEvent.id == Delivery.event_id)
        .options(selectinload(Delivery.event), selectinload(Delivery.subscription))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if incident_id is not None:
        query = query.where(BroadcastEvent.incident_id == incident_id)
    if maintenance_id is not None:
        query = query.where(BroadcastEvent.maintenance_id == maintenance_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return (await session.scalars(query)).all()


async def attempts_of(
    session: AsyncSession, *, delivery_ids: list[int]
) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


async def counts_by_state(session: AsyncSession, *, event_ids: list[int]) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.state, func.count())
        .where(Delivery.event_id.in_(event_ids))
        .group_by(Delivery.state)
    )
    return {state.value: count for state, count in rows.all()}
