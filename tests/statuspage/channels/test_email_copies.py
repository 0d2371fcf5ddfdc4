"""A broadcast email is rendered once and copied per subscriber: each copy has its own links,
headers stay correctly encoded, and the SMTP sessions that carry the copies are kept open,
replaced when the server cuts them, and reset after a refusal."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from incidents import flows
from incidents.broadcasting.models import AttemptOutcome, DeliveryAttempt, Subscription
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.models import Component
from incidents.schemas import IncidentOpen, UpdateIn
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import SmtpReceiver

ACTOR = Actor(staff_id=None, default_language="en")
FIRST, SECOND = "first@wallet.example", "second@wallet.example"


@pytest.fixture
def chinese(mail_settings: Settings) -> Settings:
    return dataclasses.replace(
        mail_settings, site_name="交易所", mail_from="交易所状态 <status@exchange.example>"
    )


@pytest.fixture
async def web(chinese: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(chinese, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


async def _subscribers(database: Database, *addresses: str, language: str = "en") -> int:
    """Confirmed email subscribers to everything, and a component; returns its id."""
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="Spot trading")
        session.add(component)
        await session.flush()
        for address in addresses:
            await create_subscription(
                session,
                data=SubscriptionIn(
                    channel="email", email=address, confirmed=True, language=language
                ),
                actor=ACTOR,
            )
        return component.id


async def _open(database: Database, component_id: int) -> int:
    data = IncidentOpen.model_validate(
        {
            "name": "Order matching slow",
            "body": "Orders are matched **slowly**.",
            "components": {component_id: "major_outage"},
            "translations": {"zh-CN": {"name": "撮合延迟", "body": "订单撮合变慢，我们正在处理。"}},
        }
    )
    async with database.sessionmaker() as session, session.begin():
        return (await flows.open_incident(session, data=data, actor=ACTOR)).id


def _head(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def _own_links(message: EmailMessage) -> dict[str, str]:
    text = _body(message, "plain")
    found = dict(re.findall(r"/subscriptions/(manage|unsubscribe)\?token=(\S+)", text))
    assert set(found) == {"manage", "unsubscribe"}, text
    return found


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


async def test_each_subscriber_gets_the_shared_message_with_links_of_their_own(
    chinese: Settings, database: Database, smtp_receiver: SmtpReceiver, web: httpx.AsyncClient
) -> None:
    trading = await _subscribers(database, FIRST, SECOND, language="zh-CN")
    await _open(database, trading)
    worker = DeliveryWorker(database, chinese)
    try:
        assert await worker.drain() == 2
    finally:
        await worker.close()
    [first], [second] = smtp_receiver.to(FIRST), smtp_receiver.to(SECOND)
    raw = dict(zip([r[0][0] for r in smtp_receiver.messages], smtp_receiver.inbox.raw, strict=True))
    for address, message in ((FIRST, first), (SECOND, second)):
        head = _head(raw[address])
        assert head.isascii()  # Chinese in headers goes as RFC 2047 encoded words
        assert re.search(rb"^Subject: =\?utf-8\?[bq]\?", head, re.M)
        assert message["Subject"] == "[交易所] 新事件：撮合延迟"
        assert parseaddr(message["From"]) == ("交易所状态", "status@exchange.example")
        assert message["To"] == address
        assert message["Content-Language"] == "zh-CN"
        # RFC 8058 wants the URL itself in the header, not an encoded word around it.
        token = _own_links(message)["unsubscribe"]
        unsubscribe = f"<https://status.exchange.example/subscriptions/unsubscribe?token={token}>"
        assert re.search(
            rb"^List-Unsubscribe: " + re.escape(unsubscribe.encode()) + rb"\r$", head, re.M
        )
        assert "订单撮合变慢" in _body(message, "plain")
        assert "订单撮合变慢" in _body(message, "html")
    mine, theirs = _own_links(first), _own_links(second)
    assert mine["manage"] != theirs["manage"] and mine["unsubscribe"] != theirs["unsubscribe"]
    assert first.get_boundary() == second.get_boundary()  # one render, two copies
    for subtype in ("plain", "html"):  # which differ in the links only
        texts = [_body(m, subtype) for m in (first, second)]
        for text, links in zip(texts, (mine, theirs), strict=True):
            assert text.count(links["manage"]) == 1 and text.count(links["unsubscribe"]) == 1
        assert texts[0].replace(mine["manage"], "M").replace(mine["unsubscribe"], "U") == (
            texts[1].replace(theirs["manage"], "M").replace(theirs["unsubscribe"], "U")
        )
    manage = await web.get(f"/subscriptions/manage?token={theirs['manage']}")
    assert manage.status_code == 200 and SECOND in manage.text and FIRST not in manage.text
    target = urlsplit(first["List-Unsubscribe"].strip("<>"))
    one_click = await web.post(
        f"{target.path}?{target.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    async with database.sessionmaker() as session:
        left = list(await session.scalars(select(Subscription.address)))
    assert left == [SECOND]  # the first subscriber's link unsubscribed the first only


async def test_copies_share_kept_smtp_sessions_that_survive_a_refusal_and_a_server_restart(
    mail_settings: Settings, database: Database, smtp_receiver: SmtpReceiver
) -> None:
    addresses = [f"holder{n}@wallet.example" for n in range(12)]
    smtp_receiver.inbox.refuse["holder3@wallet.example"] = "550 5.1.1 no such user"
    trading = await _subscribers(database, *addresses)
    incident = await _open(database, trading)
    worker = DeliveryWorker(database, dataclasses.replace(mail_settings, delivery_concurrency=3))
    try:
        assert await worker.drain() == 12
        assert smtp_receiver.inbox.sessions <= 3  # not one connection per message
        smtp_receiver.restart()  # cuts the sessions the worker keeps
        async with database.sessionmaker() as session, session.begin():
            update = UpdateIn.model_validate({"status": "identified", "body": "Found it."})
            await flows.post_update(session, incident_id=incident, data=update, actor=ACTOR)
        assert await worker.drain() == 12  # the refused address is tried once more
    finally:
        await worker.close()
    assert smtp_receiver.inbox.sessions <= 6
    for address in addresses:
        subjects = [m["Subject"] for m in smtp_receiver.to(address)]
        if address == "holder3@wallet.example":
            assert subjects == []
        else:
            assert subjects == [
                "[Exchange] New incident: Order matching slow",
                "[Exchange] Incident update: Order matching slow",
            ]
    async with database.sessionmaker() as session:
        outcomes = list(await session.scalars(select(DeliveryAttempt.outcome)))
    # Nothing was retried: a cut session was replaced before the message went out on it.
    assert sorted(outcomes) == sorted([AttemptOutcome.sent] * 22 + [AttemptOutcome.failed] * 2)
