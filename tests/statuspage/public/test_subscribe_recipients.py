"""One inbox is one subscriber: confirmation emails to an address are limited whoever asks for
them, and an address is the same address in any letter case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from incidents.broadcasting import subscriptions as subscription_flows
from incidents.broadcasting.models import Channel, Subscription
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.common.actor import Actor
from incidents.common.errors import Conflict
from statuspage.access.rate_limits import RateEvent
from statuspage.app import StatusApp, create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import SmtpReceiver

VICTIM = "victim@wallet.example"


@pytest.fixture
async def app(mail_settings: Settings, database: Database) -> AsyncIterator[StatusApp]:
    built = create_app(mail_settings, database=database)
    yield built
    await built.running.cache.close()


def _from(app: StatusApp, host: str) -> httpx.AsyncClient:
    """A client calling from its own network address (each has its own per-client limit)."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _subscriptions(database: Database) -> list[tuple[str, bool]]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(Subscription.address, Subscription.confirmed_at).order_by(Subscription.id)
        )
        return [(address, confirmed is not None) for address, confirmed in rows.all()]


async def test_an_address_gets_three_confirmations_an_hour_whoever_asks(
    app: StatusApp, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    # Two networks, each well under its own limit, and the address in any letter case.
    asked = ["victim@wallet.example", "Victim@Wallet.example", "VICTIM@wallet.example"]
    async with _from(app, "198.51.100.7") as first, _from(app, "203.0.113.9") as second:
        for number, address in enumerate(asked):
            caller = first if number % 2 else second
            sent = await caller.post("/subscribe", data={"email": address, "language": "en"})
            assert sent.status_code == 200 and "Check your inbox" in sent.text
            assert await worker.drain() == 1  # each went out, so the next asks for another
        for caller in (first, second):
            refused = await caller.post("/subscribe", data={"email": "Victim@wallet.example"})
            assert refused.status_code == 429  # answered as the per-client limit is
            assert "Too many requests from your network" in refused.text
            assert 'value="Victim@wallet.example"' in refused.text
        assert await worker.drain() == 0
        assert len(smtp_receiver.to(VICTIM)) == 3
        other = await first.post("/subscribe", data={"email": "other@wallet.example"})
        assert other.status_code == 200  # the limit is the address's, not the network's
        async with database.sessionmaker() as session, session.begin():
            for event in await session.scalars(select(RateEvent)):
                event.at -= timedelta(hours=1)
        later = await second.post("/subscribe", data={"email": VICTIM})
        assert later.status_code == 200  # an hour on, one more
    assert await worker.drain() == 2
    assert len(smtp_receiver.to(VICTIM)) == 4
    assert await _subscriptions(database) == [(VICTIM, False), ("other@wallet.example", False)]


async def test_the_recipients_limit_keeps_no_address_in_the_clear(
    web: httpx.AsyncClient, database: Database
) -> None:
    await web.post("/subscribe", data={"email": "Holder@Wallet.example"})
    async with database.reading() as session:
        rows = (await session.execute(select(RateEvent.bucket, RateEvent.key_digest))).all()
    assert sorted(bucket for bucket, _ in rows) == ["subscribe", "subscribe-recipient"]
    for _, digest in rows:
        assert len(digest) == 64 and "wallet" not in digest.lower()


async def test_letter_case_does_not_make_another_subscription(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    await web.post("/subscribe", data={"email": "Holder@Wallet.Example"})
    assert await worker.drain() == 1
    [confirmation] = smtp_receiver.to("holder@wallet.example")
    assert confirmation["To"] == "holder@wallet.example"
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Subscription).values(confirmed_at=Subscription.created_at))
    again = await web.post("/subscribe", data={"email": "HOLDER@wallet.example"})
    assert again.status_code == 200 and "Check your inbox" in again.text
    assert await worker.drain() == 0  # confirmed already, in whatever case it was typed
    assert await _subscriptions(database) == [("holder@wallet.example", True)]


async def test_staff_cannot_add_an_address_again_in_other_letters(database: Database) -> None:
    actor = Actor(staff_id=None, default_language="en")
    async with database.sessionmaker() as session, session.begin():
        made, _ = await subscription_flows.create_subscription(
            session,
            data=SubscriptionIn(channel=Channel.email, email="Desk@Exchange.example"),
            actor=actor,
        )
        assert made.address == "desk@exchange.example"
        with pytest.raises(Conflict, match="already exists"):
            await subscription_flows.create_subscription(
                session,
                data=SubscriptionIn(channel=Channel.email, email="desk@EXCHANGE.example"),
                actor=actor,
            )
