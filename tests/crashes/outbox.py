"""What the write and fan-out crash scenarios share: an incident whose webhook subscribers
hear of it, and the check of every message the receiver got against the outbox."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import Delivery, DeliveryState, Subscription
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.db import Database
from tests.crashes.outcome import Outcome
from tests.receivers import HttpReceiver

API = "/api/staff"


async def admin_with_webhooks(
    database: Database, receiver: HttpReceiver, count: int
) -> dict[str, str]:
    """An admin's authorization headers, and `count` webhook subscribers of every component
    made by the flow the staff API calls, in one transaction (a POST each took seconds for a
    fan-out's worth on a busy machine)."""
    actor = Actor(staff_id=None, default_language="en")
    async with database.sessionmaker() as session, session.begin():
        staff = await tokens.create_staff(
            session, email="admin@crash.test", name="Admin", role=StaffRole.admin, actor_id=None
        )
        token = (await tokens.create_token(session, staff=staff, name="t", actor_id=None))[1]
        for number in range(count):
            data = SubscriptionIn(channel="webhook", url=receiver.url(f"/hook/{number}"))
            await create_subscription(session, data=data, actor=actor)
    return {"Authorization": f"Bearer {token}"}


async def open_incident(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """A component and an incident open on it, through the staff API."""
    made = await client.post(f"{API}/components", json={"name": "ETH wallet"}, headers=headers)
    assert made.status_code == 201, made.text
    component = int(made.json()["id"])
    opened = await client.post(
        f"{API}/incidents",
        json={
            "name": "ETH withdrawals delayed",
            "body": "Withdrawals are queued.",
            "components": {str(component): "partial_outage"},
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    return int(opened.json()["id"])


async def check_deliveries(database: Database, receiver: HttpReceiver, seconds: float) -> Outcome:
    """Waits until every webhook delivery in the outbox is sent, then compares the receiver's
    webhook-ids with the outbox: each (event, subscription) once, at its subscriber's URL."""
    expected: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    while True:
        async with database.reading() as session:
            rows = (
                await session.execute(
                    select(Delivery.id, Delivery.state, Subscription.address).join(
                        Subscription, Subscription.id == Delivery.subscription_id
                    )
                )
            ).all()
        expected = {f"msg_{row.id}": row.address for row in rows}
        got = {item.headers["webhook-id"] for item in receiver.received}
        pending = [row for row in rows if row.state != DeliveryState.sent]
        if (not pending and set(expected) <= got) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a late repeat, if there is one, arrives
    hooks = [item for item in receiver.received if not item.path.startswith("/credit")]
    ids = [item.headers["webhook-id"] for item in hooks]
    wrong_place = {
        item.headers["webhook-id"] for item in hooks
        if expected.get(item.headers["webhook-id"]) != receiver.url(item.path)
    }  # fmt: skip
    return Outcome(
        messages_lost=len(set(expected) - set(ids)),
        duplicates=len(set(ids) - set(expected)) + len(wrong_place),
        redeliveries=len(ids) - len(set(ids)),
    )
