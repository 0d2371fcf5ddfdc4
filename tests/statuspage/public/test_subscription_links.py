"""A link from an email acts on the subscription it was sent for and on no other: not on a
row that came after it under the same id, not on a staff channel, not once the row is gone."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from incidents import flows
from incidents.broadcasting import subscriptions as subscription_flows
from incidents.broadcasting.models import Channel, Subscription
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.common.actor import Actor
from incidents.common.audit import AuditEntry
from incidents.models import Component
from incidents.schemas import IncidentOpen
from statuspage.access.signing import load_signer
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import SmtpReceiver

FIRST = "first@wallet.example"
NEXT = "next@wallet.example"
HOOK = "https://hooks.slack.example/services/T000/B000/staffsecrettoken"
SYSTEM = Actor(staff_id=None, default_language="en")


def _link(message: EmailMessage, path: str) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    text = str(part.get_content())
    found = re.search(
        r"https://status\.exchange\.example(" + re.escape(path) + r"\?token=\S+)", text
    )
    assert found, text
    return found.group(1)


async def _broadcast(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="BTC wallet")
        session.add(component)
        await session.flush()
        data = IncidentOpen.model_validate(
            {
                "name": "Withdrawals delayed",
                "body": "Queued; funds are safe.",
                "components": {component.id: "major_outage"},
            }
        )
        await flows.open_incident(session, data=data, actor=SYSTEM)


async def _links_of_a_subscriber_who_left(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp: SmtpReceiver, database: Database
) -> dict[str, str]:
    """FIRST subscribes, confirms, hears of an incident, unsubscribes: their links."""
    await web.post("/subscribe", data={"email": FIRST, "language": "en"})
    assert await worker.drain() == 1
    confirm = _link(smtp.to(FIRST)[0], "/subscriptions/confirm")
    assert (await web.post(confirm)).status_code == 200
    await _broadcast(database)
    assert await worker.drain() == 1
    broadcast = smtp.to(FIRST)[-1]
    links = {
        "confirm": confirm,
        "manage": _link(broadcast, "/subscriptions/manage"),
        "unsubscribe": _link(broadcast, "/subscriptions/unsubscribe"),
    }
    left = await web.post(links["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    assert "You are unsubscribed" in left.text
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(Subscription))).all() == []
    return links


async def _only(database: Database) -> Subscription:
    async with database.sessionmaker() as session:
        [row] = (
            await session.scalars(select(Subscription).execution_options(populate_existing=True))
        ).all()
        await session.refresh(row, ["components"])
    return row


async def _old_links_act_on_nothing(
    web: httpx.AsyncClient, links: dict[str, str], database: Database, shown: str
) -> None:
    """Every page and button of the old links answers "invalid" and leaves the row as it was."""
    before = await _only(database)
    for path in links.values():
        page = await web.get(path)
        assert page.status_code == 400, (path, page.text)
        assert "invalid or has expired" in page.text
        assert shown not in page.text
    confirmed = await web.post(links["confirm"])
    assert confirmed.status_code == 400 and shown not in confirmed.text
    changed = await web.post(links["manage"], data={"language": "zh-CN", "component_ids": ["1"]})
    assert changed.status_code == 400 and shown not in changed.text
    await web.post(links["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    after = await _only(database)
    assert (after.id, after.address, after.language, after.confirmed_at) == (
        before.id,
        before.address,
        before.language,
        before.confirmed_at,
    )
    assert after.components == before.components


async def test_a_subscriber_who_left_cannot_confirm_or_manage_the_next_subscription(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    links = await _links_of_a_subscriber_who_left(web, worker, smtp_receiver, database)
    await web.post("/subscribe", data={"email": NEXT, "language": "en"})
    await _old_links_act_on_nothing(web, links, database, NEXT)
    assert (await _only(database)).confirmed_at is None  # double opt-in still stands


async def test_a_subscriber_who_left_cannot_see_or_remove_a_staff_channel_made_after(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    links = await _links_of_a_subscriber_who_left(web, worker, smtp_receiver, database)
    async with database.sessionmaker() as session, session.begin():
        data = SubscriptionIn(channel=Channel.slack, url=HOOK)
        await subscription_flows.create_subscription(session, data=data, actor=SYSTEM)
    await _old_links_act_on_nothing(web, links, database, "staffsecrettoken")


async def test_an_id_given_up_is_never_given_again(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        first = await subscription_flows.create_subscription(
            session, data=SubscriptionIn(channel=Channel.email, email=FIRST), actor=SYSTEM
        )
        gone = first[0].id
        await subscription_flows.delete_subscription(session, subscription_id=gone, actor=SYSTEM)
        second, _ = await subscription_flows.create_subscription(
            session, data=SubscriptionIn(channel=Channel.email, email=NEXT), actor=SYSTEM
        )
    assert second.id > gone


async def test_links_do_not_follow_an_id_that_came_back(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    # The id taken again by hand, as a restored backup or a reset sequence would: the links
    # were made for the row that left, not for whatever row has its number now.
    links = await _links_of_a_subscriber_who_left(web, worker, smtp_receiver, database)
    async with database.sessionmaker() as session:
        gone = await session.scalar(
            select(AuditEntry.entity_id).where(AuditEntry.action == "subscription.unsubscribe")
        )
    async with database.sessionmaker() as session, session.begin():
        session.add(
            Subscription(
                id=gone, channel=Channel.email, address=NEXT, language="en", confirmed_at=None
            )
        )
    await _old_links_act_on_nothing(web, links, database, NEXT)


@pytest.mark.parametrize("purpose", ["manage", "unsubscribe", "confirm"])
async def test_a_link_whose_signature_is_not_ascii_is_refused_not_a_server_error(
    web: httpx.AsyncClient, purpose: str
) -> None:
    for token in ("abc.é", "abc.\u4e2d\u6587", "é"):  # a mangled copy of the link, or a probe
        page = await web.get(f"/subscriptions/{purpose}", params={"token": token})
        assert page.status_code == 400, (token, page.status_code)


@pytest.mark.parametrize("purpose", ["manage", "unsubscribe", "confirm"])
async def test_a_link_made_without_the_rows_nonce_is_refused(
    web: httpx.AsyncClient, database: Database, mail_settings: Settings, purpose: str
) -> None:
    async with database.sessionmaker() as session, session.begin():
        made, _ = await subscription_flows.create_subscription(
            session, data=SubscriptionIn(channel=Channel.email, email=FIRST), actor=SYSTEM
        )
        signer = await load_signer(session, mail_settings)
    # What the Signer made before links carried the row's nonce: right id, right version.
    token = signer.make(purpose, made.id, made.token_version)
    page = await web.get(f"/subscriptions/{purpose}", params={"token": token})
    assert page.status_code == 400
    assert FIRST not in page.text


async def test_a_link_never_opens_a_staff_channel_even_signed_with_its_nonce(
    web: httpx.AsyncClient, database: Database, mail_settings: Settings
) -> None:
    # Links are only made for email subscriptions; one made for a channel by any mistake is
    # still refused, so the channel's URL (its token) is never shown or changed from outside.
    async with database.sessionmaker() as session, session.begin():
        made, _ = await subscription_flows.create_subscription(
            session, data=SubscriptionIn(channel=Channel.slack, url=HOOK), actor=SYSTEM
        )
        signer = await load_signer(session, mail_settings)
    for purpose in ("manage", "unsubscribe", "confirm"):
        token = signer.make(purpose, made.id, made.token_version, nonce=made.nonce)
        for method in ("GET", "POST"):
            page = await web.request(method, f"/subscriptions/{purpose}?token={token}")
            # Unsubscribing what is not there still says "unsubscribed" (and removes nothing).
            leaving = (method, purpose) == ("POST", "unsubscribe")
            status, said = (200, "You are unsubscribed") if leaving else (400, "invalid")
            assert (page.status_code, said in page.text) == (status, True), (method, purpose)
            assert "staffsecrettoken" not in page.text
    after = await _only(database)
    assert (after.id, after.address, after.language) == (made.id, HOOK, "en")
