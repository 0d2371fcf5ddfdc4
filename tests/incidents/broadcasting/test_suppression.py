"""Who unsubscribed stays gone: imports of subscribers (CSV, another status page) skip the
addresses on the suppression list, which holds only their hashes."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from incidents.broadcasting import subscriptions, transfers
from incidents.broadcasting.models import (
    Audience,
    Channel,
    Delivery,
    Subscription,
    SuppressedAddress,
)
from incidents.broadcasting.rules import Link
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from statuspage.db import Database

ACTOR = Actor(staff_id=None, default_language="en")


async def _import(database: Database, *addresses: str) -> transfers.Imported:
    rows = [transfers.SubscriberRow(address, "zh-CN", []) for address in addresses]
    async with database.sessionmaker() as session, session.begin():
        return await transfers.import_rows(
            session, rows=rows, consent_given=True, actor=ACTOR, source="csv:test.csv"
        )


async def _addresses(database: Database) -> list[str]:
    async with database.sessionmaker() as session:
        return sorted((await session.scalars(select(Subscription.address))).all())


async def test_an_address_that_unsubscribed_is_not_imported_again_until_its_owner_returns(
    database: Database,
) -> None:
    done = await _import(database, "wang.fang@example.cn", "li@example.com")
    assert len(done.created) == 2
    async with database.sessionmaker() as session, session.begin():
        wang = await subscriptions.get_subscription(
            session, subscription_id=done.ids_by_address["wang.fang@example.cn"]
        )
        link = Link(wang.id, wang.token_version, wang.nonce)
        await subscriptions.unsubscribe(session, link=link)
    async with database.sessionmaker() as session:
        kept = (await session.scalars(select(SuppressedAddress.address_hash))).all()
    assert kept == [hashlib.sha256(b"wang.fang@example.cn").hexdigest()]  # a hash, no address

    again = await _import(database, "Wang.Fang@Example.cn", "li@example.com", "zhao@example.org")
    assert (len(again.created), again.suppressed, again.already_subscribed) == (1, 1, 1)
    assert await _addresses(database) == ["li@example.com", "zhao@example.org"]

    # Wang subscribes on the page herself and confirms by her own click: the list lets go
    async with database.sessionmaker() as session, session.begin():
        back = await subscriptions.add_subscription(
            session,
            channel=Channel.email,
            address="wang.fang@example.cn",
            secret=None,
            language="zh-CN",
            component_ids=[],
            audience=Audience.public,
            options={},
            confirmed_at=None,
            created_by=None,
        )
        link = Link(back.id, back.token_version, back.nonce, confirms=True)
        await subscriptions.confirm(session, link=link, now=utcnow())
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(SuppressedAddress))).all() == []
    last = await _import(database, "wang.fang@example.cn")
    assert (last.suppressed, last.already_subscribed) == (0, 1)


async def test_staff_adding_an_address_that_unsubscribed_as_confirmed_sends_it_a_confirmation(
    database: Database,
) -> None:
    done = await _import(database, "wang.fang@example.cn")
    async with database.sessionmaker() as session, session.begin():
        wang = await subscriptions.get_subscription(
            session, subscription_id=done.ids_by_address["wang.fang@example.cn"]
        )
        await subscriptions.unsubscribe(session, link=Link(wang.id, wang.token_version, wang.nonce))
    data = SubscriptionIn(channel=Channel.email, email="Wang.Fang@example.cn", confirmed=True)
    async with database.sessionmaker() as session, session.begin():
        again, _ = await subscriptions.create_subscription(session, data=data, actor=ACTOR)
    assert again.confirmed_at is None  # only her own click brings her back
    async with database.sessionmaker() as session:
        asked = await session.scalar(
            select(func.count()).where(Delivery.subscription_id == again.id)
        )
    assert asked == 1  # the confirmation email
