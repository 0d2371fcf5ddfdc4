"""When an alert opens only a draft, or recovers without resolving, the support channel is
told (with a link to the console), and account holders hear nothing."""

from __future__ import annotations

import json

import httpx

from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver
from tests.statuspage.api.alert_payloads import alert, payload, set_up


async def _channels(database: Database, http_receiver: HttpReceiver) -> None:
    async with database.sessionmaker() as session, session.begin():
        for path, audience in (("/public", "public"), ("/support", "staff")):
            await create_subscription(
                session,
                data=SubscriptionIn(
                    channel="slack", url=http_receiver.url(path), audience=audience
                ),
                actor=Actor(staff_id=None, default_language="en"),
            )


async def _deliver(database: Database, settings: Settings) -> None:
    worker = DeliveryWorker(database, settings)
    await worker.drain()
    await worker.close()


def _said(http_receiver: HttpReceiver, path: str) -> list[str]:
    return [json.loads(got.body)["blocks"][1]["text"]["text"] for got in http_receiver.to(path)]


async def test_a_draft_and_its_recovery_are_told_to_the_support_channel_only(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    database: Database,
    settings: Settings,
    http_receiver: HttpReceiver,
) -> None:
    _, hook = await set_up(client, admin, policy="tell_staff")
    await _channels(database, http_receiver)
    opened = (await client.post(hook, json=payload(alert()))).json()["alerts"][0]
    assert opened["decision"] == "drafted"
    await _deliver(database, settings)
    assert http_receiver.to("/public") == []
    [detected] = _said(http_receiver, "/support")
    assert "Monitoring fired WithdrawalsFailing. A bilingual draft is prepared" in detected
    assert f"/staff/incidents/{opened['incident_id']}" in json.dumps(
        json.loads(http_receiver.to("/support")[0].body)
    )

    recovered = (await client.post(hook, json=payload(alert(status="resolved")))).json()
    assert recovered["alerts"][0]["decision"] == "monitoring"
    await _deliver(database, settings)
    assert http_receiver.to("/public") == []
    assert "Monitoring says WithdrawalsFailing has recovered" in _said(http_receiver, "/support")[1]
