"""Email subscriptions end to end against a real SMTP server: double opt-in, the broadcast
messages (headers, both parts), manage preferences and one-click unsubscribe."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from incidents import flows
from incidents.broadcasting.models import Subscription
from incidents.common.actor import Actor
from incidents.models import Component
from incidents.schemas import IncidentOpen, UpdateIn
from statuspage.access.rate_limits import RateEvent
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.public.subscribe import SUBSCRIBE_LIMIT
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import SmtpReceiver

ADDRESS = "holder@wallet.example"


async def _components(database: Database, *names: str) -> list[int]:
    async with database.sessionmaker() as session, session.begin():
        made = [Component(name=name) for name in names]
        session.add_all(made)
        await session.flush()
        return [component.id for component in made]


async def _open(database: Database, component_id: int, **fields: object) -> int:
    data = IncidentOpen.model_validate(
        {
            "name": "Withdrawals delayed",
            "body": "BTC withdrawals are **queued**; funds are safe.",
            "components": {component_id: "major_outage"},
            "expected_resolution_at": "2099-01-01T12:00:00+00:00",
            **fields,
        }
    )
    async with database.sessionmaker() as session, session.begin():
        incident = await flows.open_incident(
            session, data=data, actor=Actor(staff_id=None, default_language="en")
        )
        return incident.id


async def _update(database: Database, incident_id: int, body: str, **fields: object) -> None:
    data = UpdateIn.model_validate({"status": "identified", "body": body, **fields})
    async with database.sessionmaker() as session, session.begin():
        await flows.post_update(
            session,
            incident_id=incident_id,
            data=data,
            actor=Actor(staff_id=None, default_language="en"),
        )


def _link(message: EmailMessage, path: str) -> str:
    """The path and query of the link in the text part that goes to `path`."""
    text = _part(message, "plain")
    found = re.search(
        r"https://status\.exchange\.example(" + re.escape(path) + r"\?token=\S+)", text
    )
    assert found, text
    return found.group(1)


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


async def _subscribe_and_confirm(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp: SmtpReceiver, **form: object
) -> None:
    response = await web.post("/subscribe", data={"email": ADDRESS, "language": "en", **form})
    assert response.status_code == 200
    assert "Check your inbox" in response.text
    assert await worker.drain() == 1
    [confirmation] = smtp.to(ADDRESS)
    confirm = _link(confirmation, "/subscriptions/confirm")
    page = await web.get(confirm)
    assert page.status_code == 200 and "Confirm subscription" in page.text
    done = await web.post(confirm)
    assert done.status_code == 200
    assert f"You will hear from us at {ADDRESS}" in done.text


async def test_double_opt_in_sends_nothing_but_the_confirmation_until_confirmed(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    [wallet] = await _components(database, "BTC wallet")
    await web.post("/subscribe", data={"email": ADDRESS, "language": "en"})
    await _open(database, wallet)
    assert await worker.drain() == 1  # the confirmation; the incident waits for nobody
    [confirmation] = smtp_receiver.to(ADDRESS)
    assert confirmation["Subject"] == "[Exchange] Confirm your subscription"
    assert "Confirm within 48 hours" in _part(confirmation, "plain")
    assert "Confirm subscription" in _part(confirmation, "html")
    await web.post(_link(confirmation, "/subscriptions/confirm"))
    await _update(database, (await _incident_ids(database))[0], "Node resynced.")
    assert await worker.drain() == 1
    assert [m["Subject"] for m in smtp_receiver.to(ADDRESS)][1:] == [
        "[Exchange] Incident update: Withdrawals delayed"
    ]


async def _incident_ids(database: Database) -> list[int]:
    from incidents.models import Incident

    async with database.sessionmaker() as session:
        return list(await session.scalars(select(Incident.id).order_by(Incident.id)))


async def test_a_confirmation_link_that_was_tampered_with_confirms_nothing(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    await web.post("/subscribe", data={"email": ADDRESS})
    await worker.drain()
    link = _link(smtp_receiver.to(ADDRESS)[0], "/subscriptions/confirm")
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    response = await web.post(forged)
    assert response.status_code == 400
    assert "invalid or has expired" in response.text
    async with database.sessionmaker() as session:
        confirmed = await session.scalar(
            select(func.count()).where(Subscription.confirmed_at.is_not(None))
        )
    assert confirmed == 0


async def test_each_broadcast_email_has_both_parts_and_one_click_unsubscribe_headers(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    [wallet] = await _components(database, "BTC wallet")
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    await _open(database, wallet, cause="A Bitcoin node fell behind")
    assert await worker.drain() == 1
    message = smtp_receiver.to(ADDRESS)[-1]
    assert message["Subject"] == "[Exchange] New incident: Withdrawals delayed"
    assert message["From"] == "Exchange Status <status@exchange.example>"
    assert message["Content-Language"] == "en"
    assert re.fullmatch(r"<msg_\d+@exchange\.example>", message["Message-ID"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://status.exchange.example/subscriptions/unsubscribe?")
    text, html = _part(message, "plain"), _part(message, "html")
    for part in (text, html):
        assert "Withdrawals delayed" in part
        assert "Affected: BTC wallet" in part
        assert "Cause: A Bitcoin node fell behind" in part
        assert "this message contains no sign-in links" in part
        assert "https://status.exchange.example/incidents/" in part
    assert "BTC withdrawals are **queued**" in text  # Markdown as written, for plain text
    assert "<strong>queued</strong>" in html  # and rendered for HTML


async def test_the_one_click_unsubscribe_post_stops_every_later_message(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    [wallet] = await _components(database, "BTC wallet")
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    incident = await _open(database, wallet)
    await worker.drain()
    header = smtp_receiver.to(ADDRESS)[-1]["List-Unsubscribe"].strip("<>")
    target = urlsplit(header)
    # What a mail client does for RFC 8058: a POST with this exact body, no cookies, no page.
    response = await web.post(
        f"{target.path}?{target.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    received = len(smtp_receiver.to(ADDRESS))
    await _update(database, incident, "Still resyncing.")
    assert await worker.drain() == 0
    assert len(smtp_receiver.to(ADDRESS)) == received
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 0


async def test_opening_the_unsubscribe_link_asks_first_and_unsubscribes_nobody(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    [wallet] = await _components(database, "BTC wallet")
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    await _open(database, wallet)
    await worker.drain()
    link = _link(smtp_receiver.to(ADDRESS)[-1], "/subscriptions/unsubscribe")
    page = await web.get(link)  # a mail scanner fetching every link
    assert page.status_code == 200
    assert f"Stop all status emails to {ADDRESS}?" in page.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 1


async def test_the_manage_link_changes_components_and_language(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    wallet, trading = await _components(database, "BTC wallet", "Spot trading")
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    await _open(database, wallet)
    await worker.drain()
    manage = _link(smtp_receiver.to(ADDRESS)[-1], "/subscriptions/manage")
    page = await web.get(manage)
    assert page.status_code == 200 and ADDRESS in page.text
    saved = await web.post(manage, data={"language": "zh-CN", "component_ids": [str(trading)]})
    assert saved.status_code == 200
    assert "已保存您的选择" in saved.text
    await _open(database, wallet, name="Deposits delayed")  # not a component they follow
    assert await worker.drain() == 0
    await _open(
        database,
        trading,
        name="Order matching slow",
        translations={"zh-CN": {"name": "撮合延迟", "body": "订单撮合变慢，我们正在处理。"}},
    )
    assert await worker.drain() == 1
    message = smtp_receiver.to(ADDRESS)[-1]
    assert message["Subject"] == "[Exchange] 新事件：撮合延迟"
    assert message["Content-Language"] == "zh-CN"
    assert "订单撮合变慢" in _part(message, "plain")
    assert "我们绝不会索取您的密码" in _part(message, "html")


async def test_the_subscribe_form_refuses_a_bad_address_and_keeps_what_was_typed(
    web: httpx.AsyncClient, database: Database
) -> None:
    response = await web.post("/subscribe", data={"email": "not-an-address"})
    assert response.status_code == 422
    assert "Enter a valid email address." in response.text
    assert 'value="not-an-address"' in response.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 0


async def test_subscribing_again_says_the_same_and_sends_no_second_subscription(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    again = await web.post("/subscribe", data={"email": ADDRESS})
    assert again.status_code == 200 and "Check your inbox" in again.text
    assert await worker.drain() == 0  # confirmed already: no mail for whoever typed it
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 1


async def test_a_refused_recipient_is_a_permanent_failure_recorded_with_the_reply(
    worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    from incidents.broadcasting.models import Delivery, DeliveryAttempt, DeliveryState
    from incidents.broadcasting.schemas import SubscriptionIn
    from incidents.broadcasting.subscriptions import create_subscription

    [wallet] = await _components(database, "BTC wallet")
    smtp_receiver.inbox.refuse["gone@wallet.example"] = "550 5.1.1 no such user"
    async with database.sessionmaker() as session, session.begin():
        await create_subscription(
            session,
            data=SubscriptionIn(channel="email", email="gone@wallet.example", confirmed=True),
            actor=Actor(staff_id=None, default_language="en"),
        )
    await _open(database, wallet)
    await worker.drain()
    async with database.sessionmaker() as session:
        delivery = await session.scalar(select(Delivery))
        attempt = await session.scalar(select(DeliveryAttempt))
    assert delivery is not None and attempt is not None
    assert delivery.state == DeliveryState.failed
    assert attempt.status_code == 550
    assert attempt.error is not None and "no such user" in attempt.error


async def test_an_update_marked_do_not_notify_sends_no_email(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver, database: Database
) -> None:
    [wallet] = await _components(database, "BTC wallet")
    await _subscribe_and_confirm(web, worker, smtp_receiver)
    incident = await _open(database, wallet)
    await worker.drain()
    before = len(smtp_receiver.to(ADDRESS))
    await _update(database, incident, "Internal note: swapped the node's disk.", notify=False)
    assert await worker.drain() == 0
    assert len(smtp_receiver.to(ADDRESS)) == before


async def test_a_chinese_reader_is_answered_in_chinese_and_mailed_in_chinese(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver
) -> None:
    response = await web.post("/subscribe?lang=zh-CN", data={"email": ADDRESS, "language": "zh-CN"})
    assert "请查收邮件" in response.text
    await worker.drain()
    [confirmation] = smtp_receiver.to(ADDRESS)
    assert confirmation["Subject"] == "[Exchange] 请确认订阅"


async def test_one_client_may_ask_five_times_in_ten_minutes(web: httpx.AsyncClient) -> None:
    for number in range(5):
        ok = await web.post("/subscribe", data={"email": f"holder{number}@wallet.example"})
        assert ok.status_code == 200
    refused = await web.post("/subscribe", data={"email": "holder9@wallet.example"})
    assert refused.status_code == 429
    assert "Too many requests from your network" in refused.text


async def test_the_limit_counts_across_instances(
    web: httpx.AsyncClient, mail_settings: Settings, database: Database
) -> None:
    # A second instance on the same database, as behind a load balancer.
    other = create_app(mail_settings, database=database)
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        for number in range(5):
            instance = web if number % 2 else second
            ok = await instance.post("/subscribe", data={"email": f"h{number}@wallet.example"})
            assert ok.status_code == 200
        for instance in (web, second):
            refused = await instance.post("/subscribe", data={"email": "h9@wallet.example"})
            assert refused.status_code == 429
    await other.running.cache.close()
    # Nothing about who asked is kept in the clear.
    async with database.reading() as session:
        digests = (
            await session.scalars(
                select(RateEvent.key_digest).where(RateEvent.bucket == SUBSCRIBE_LIMIT.bucket)
            )
        ).all()
        everything = (await session.scalars(select(RateEvent.key_digest))).all()
    assert len(digests) == 5
    assert len(everything) == 10  # and one per recipient
    assert all(len(digest) == 64 and "127.0.0.1" not in digest for digest in everything)


async def test_asking_again_before_confirming_resends_the_link_once_it_went_out(
    web: httpx.AsyncClient, worker: DeliveryWorker, smtp_receiver: SmtpReceiver
) -> None:
    await web.post("/subscribe", data={"email": ADDRESS})
    await web.post("/subscribe", data={"email": ADDRESS})  # the first is not even sent yet
    assert await worker.drain() == 1
    await web.post("/subscribe", data={"email": ADDRESS})  # lost it: a new link
    assert await worker.drain() == 1
    first, second = smtp_receiver.to(ADDRESS)
    assert first["Subject"] == second["Subject"] == "[Exchange] Confirm your subscription"
