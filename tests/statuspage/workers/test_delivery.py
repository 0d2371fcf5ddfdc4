"""The outbox and its worker: who gets what, retries with backoff, giving up, disabling,
ordering, and the delivery log staff read."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from incidents import flows, maintenance_flows
from incidents.broadcasting.models import (
    AttemptOutcome,
    BroadcastEvent,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.models import Component
from incidents.schemas import (
    IncidentOpen,
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenancePatch,
    MaintenanceUpdateIn,
    ResolveIn,
    UpdateIn,
)
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver, Reply

ACTOR = Actor(staff_id=None, default_language="en")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def worker(
    settings: Settings, database: Database, clock: Clock
) -> AsyncIterator[DeliveryWorker]:
    fast = dataclasses.replace(settings, delivery_timeout_seconds=2.0)
    worker = DeliveryWorker(database, fast, clock=clock)
    yield worker
    await worker.close()


async def _components(database: Database, *names: str) -> list[int]:
    async with database.sessionmaker() as session, session.begin():
        made = [Component(name=name) for name in names]
        session.add_all(made)
        await session.flush()
        return [component.id for component in made]


async def _hook(
    database: Database,
    url: str,
    *,
    component_ids: list[int] | None = None,
    channel: str = "webhook",
) -> int:
    async with database.sessionmaker() as session, session.begin():
        subscription, _ = await create_subscription(
            session,
            data=SubscriptionIn(channel=channel, url=url, component_ids=component_ids or []),
            actor=ACTOR,
        )
        return subscription.id


async def _open(database: Database, component_id: int, **fields: object) -> int:
    data = IncidentOpen.model_validate(
        {
            "name": "ETH withdrawals delayed",
            "body": "Withdrawals are queued.",
            "components": {component_id: "partial_outage"},
            **fields,
        }
    )
    async with database.sessionmaker() as session, session.begin():
        return (await flows.open_incident(session, data=data, actor=ACTOR)).id


async def _post(database: Database, incident_id: int, status: str, body: str) -> None:
    async with database.sessionmaker() as session, session.begin():
        if status == "resolved":
            await flows.resolve_incident(
                session, incident_id=incident_id, data=ResolveIn(body=body), actor=ACTOR
            )
        else:
            await flows.post_update(
                session,
                incident_id=incident_id,
                data=UpdateIn.model_validate({"status": status, "body": body}),
                actor=ACTOR,
            )


def _types(receiver: HttpReceiver, path: str = "/hook") -> list[str]:
    return [json.loads(got.body)["type"] for got in receiver.to(path)]


async def _delivery(database: Database) -> Delivery:
    async with database.sessionmaker() as session:
        found = await session.scalar(select(Delivery).order_by(Delivery.id.desc()).limit(1))
    assert found is not None
    return found


async def _attempts(database: Database) -> list[DeliveryAttempt]:
    async with database.sessionmaker() as session:
        return list(await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))


# -- who hears what -------------------------------------------------------------------------


async def test_every_publishable_change_reaches_a_subscriber_once_in_order(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    incident = await _open(database, eth)
    await _post(database, incident, "identified", "A node lagged.")
    await _post(database, incident, "monitoring", "Fix deployed.")
    await _post(database, incident, "resolved", "All withdrawals sent.")
    maintenance = await _maintenance(database, eth)
    await _edit_window(database, maintenance, hours=2)
    await _move(database, maintenance, "in_progress")
    await _move(database, maintenance, "completed")
    cancelled = await _maintenance(database, eth)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.cancel_maintenance(
            session,
            maintenance_id=cancelled,
            data=MaintenanceCancelIn(body="Not needed after all."),
            actor=ACTOR,
        )
    assert await worker.drain() == 10
    assert _types(http_receiver) == [
        "incident.opened",
        "incident.updated",
        "incident.updated",
        "incident.resolved",
        "maintenance.scheduled",
        "maintenance.rescheduled",
        "maintenance.started",
        "maintenance.completed",
        "maintenance.scheduled",
        "maintenance.cancelled",
    ]
    ids = [got.headers["webhook-id"] for got in http_receiver.received]
    assert len(set(ids)) == 10
    assert await worker.drain() == 0  # nothing is sent twice


async def _maintenance(database: Database, component_id: int) -> int:
    start = datetime.now(UTC) + timedelta(days=3)
    async with database.sessionmaker() as session, session.begin():
        made = await maintenance_flows.create_maintenance(
            session,
            data=MaintenanceIn(
                name="ETH node upgrade",
                body="Withdrawals pause.",
                scheduled_for=start,
                scheduled_until=start + timedelta(hours=1),
                component_ids=[component_id],
            ),
            actor=ACTOR,
        )
        return made.id


async def _edit_window(database: Database, maintenance_id: int, *, hours: int) -> None:
    start = datetime.now(UTC) + timedelta(days=3, hours=hours)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.edit_maintenance(
            session,
            maintenance_id=maintenance_id,
            data=MaintenancePatch(scheduled_for=start, scheduled_until=start + timedelta(hours=1)),
            actor=ACTOR,
        )


async def _move(database: Database, maintenance_id: int, status: str) -> None:
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.post_maintenance_update(
            session,
            maintenance_id=maintenance_id,
            data=MaintenanceUpdateIn.model_validate({"status": status, "body": f"Now {status}."}),
            actor=ACTOR,
        )


async def test_a_rescheduled_maintenance_says_what_the_window_was(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    maintenance = await _maintenance(database, eth)
    await _edit_window(database, maintenance, hours=5)
    await worker.drain()
    moved = json.loads(http_receiver.received[-1].body)["data"]
    assert moved["previous"]["scheduled_for"] < moved["maintenance"]["scheduled_for"]
    assert moved["message"]["facts"][1].startswith("Previously: ")
    async with database.sessionmaker() as session:
        event = await session.scalar(
            select(BroadcastEvent).where(BroadcastEvent.kind == "maintenance.rescheduled")
        )
    assert event is not None
    # The stored shape, key for key and in order, as rows already in the outbox have it.
    assert list(event.payload) == ["maintenance", "update", "previous"]
    assert list(event.payload["maintenance"]) == [
        "id",
        "shortlink",
        "language",
        "name",
        "status",
        "scheduled_for",
        "scheduled_until",
        "components",
    ]
    assert list(event.payload["update"]) == ["id", "status", "language", "body", "display_at"]
    assert list(event.payload["maintenance"]["components"][0]) == ["id", "name", "status"]
    assert {key: moved[key] for key in event.payload} == event.payload


async def test_component_filters_choose_who_hears_of_an_incident(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    eth, btc = await _components(database, "ETH wallet", "BTC wallet")
    await _hook(database, http_receiver.url("/eth"), component_ids=[eth])
    await _hook(database, http_receiver.url("/btc"), component_ids=[btc])
    await _hook(database, http_receiver.url("/all"))
    await _open(database, eth)
    await worker.drain()
    assert (len(http_receiver.to("/eth")), len(http_receiver.to("/btc"))) == (1, 0)
    assert len(http_receiver.to("/all")) == 1


async def test_drafts_and_do_not_notify_updates_send_nothing_and_publishing_announces(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    draft = await _open(database, eth, draft=True)
    quiet = await _open(database, eth, name="Quiet fix", notify=False)
    async with database.sessionmaker() as session, session.begin():
        await flows.post_update(
            session,
            incident_id=quiet,
            data=UpdateIn(status="identified", body="Internal only.", notify=False),
            actor=ACTOR,
        )
    assert await worker.drain() == 0
    async with database.sessionmaker() as session, session.begin():
        await flows.publish_incident(session, incident_id=draft, actor=ACTOR)
    assert await worker.drain() == 1
    assert _types(http_receiver) == ["incident.opened"]


async def test_unconfirmed_and_disabled_subscriptions_hear_nothing(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    hook = await _hook(database, http_receiver.url())
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Subscription).where(Subscription.id == hook).values(disabled_at=func.now())
        )
    await _open(database, eth)
    assert await worker.drain() == 0
    assert http_receiver.received == []


# -- failing receivers ----------------------------------------------------------------------


async def test_a_receiver_that_fails_then_recovers_gets_the_message_after_backoff(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver, clock: Clock
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    http_receiver.script = [Reply(503, b"down"), Reply(500, b"still down")]
    await _open(database, eth)
    assert await worker.drain() == 1
    first = await _delivery(database)
    assert first.state == DeliveryState.pending
    wait = first.next_attempt_at - clock.now
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)  # 30 s, with jitter
    assert await worker.drain() == 0  # not before its time
    clock.advance(wait)
    assert await worker.drain() == 1
    second = await _delivery(database)
    wait = second.next_attempt_at - clock.now
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)  # doubled
    clock.advance(wait)
    assert await worker.drain() == 1
    done = await _delivery(database)
    assert (done.state, done.attempts) == (DeliveryState.sent, 3)
    attempts = await _attempts(database)
    assert [(a.outcome, a.status_code) for a in attempts] == [
        (AttemptOutcome.retry, 503),
        (AttemptOutcome.retry, 500),
        (AttemptOutcome.sent, 200),
    ]
    assert attempts[0].error == "HTTP 503: down"
    assert all(attempt.latency_ms >= 0 for attempt in attempts)
    # The same message each time: a receiver drops repeats by this id.
    assert len({got.headers["webhook-id"] for got in http_receiver.received}) == 1


async def test_a_receiver_that_never_answers_times_out_and_is_retried(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    http_receiver.script = [Reply(200, delay=3.0)]
    await _open(database, eth)
    await worker.drain()
    delivery = await _delivery(database)
    [attempt] = await _attempts(database)
    assert delivery.state == DeliveryState.pending
    assert attempt.error == "no answer within 2 s"
    assert attempt.status_code is None


async def test_retries_stop_after_a_day_and_the_delivery_fails(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver, clock: Clock
) -> None:
    [eth] = await _components(database, "ETH wallet")
    await _hook(database, http_receiver.url())
    http_receiver.default = Reply(502, b"bad gateway")
    await _open(database, eth)
    tries = 0
    while (delivery := await _delivery(database)).state == DeliveryState.pending:
        clock.now = max(clock.now, delivery.next_attempt_at)
        await worker.drain()
        tries += 1
        assert tries < 80
    assert delivery.state == DeliveryState.failed
    assert delivery.next_attempt_at - delivery.created_at <= timedelta(hours=24)
    assert clock.now - delivery.created_at > timedelta(hours=20)
    # 7 doubling steps to an hour, then hourly; each wait is half to all of its step
    assert 28 <= tries <= 56


async def test_gone_disables_the_subscription_at_once(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    hook = await _hook(database, http_receiver.url())
    http_receiver.script = [Reply(410, b"gone")]
    incident = await _open(database, eth)
    await _post(database, incident, "identified", "Found it.")
    await worker.drain()
    assert len(http_receiver.received) == 1  # the second message is never sent
    async with database.sessionmaker() as session:
        subscription = await session.get(Subscription, hook)
        states = list(await session.scalars(select(Delivery.state).order_by(Delivery.id)))
    assert subscription is not None
    assert subscription.disabled_reason == "the receiver answered 410 Gone"
    assert states == [DeliveryState.failed, DeliveryState.cancelled]


async def test_five_permanent_failures_in_a_row_disable_a_subscription(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    hook = await _hook(database, http_receiver.url())
    http_receiver.default = Reply(404, b"no such hook")
    incident = await _open(database, eth)
    for step in range(5):
        await _post(database, incident, "identified", f"Step {step}.")
    await worker.drain()
    async with database.sessionmaker() as session:
        subscription = await session.get(Subscription, hook)
    assert subscription is not None
    assert len(http_receiver.received) == 5  # one each, no retries for a 404
    assert subscription.disabled_reason == "5 deliveries in a row failed for good"


async def test_a_success_resets_the_count_of_failures(
    database: Database, worker: DeliveryWorker, http_receiver: HttpReceiver
) -> None:
    [eth] = await _components(database, "ETH wallet")
    hook = await _hook(database, http_receiver.url())
    http_receiver.script = [Reply(400), Reply(400), Reply(400), Reply(400), Reply(200)]
    http_receiver.default = Reply(400)
    incident = await _open(database, eth)
    for step in range(8):
        await _post(database, incident, "identified", f"Step {step}.")
    await worker.drain()
    async with database.sessionmaker() as session:
        subscription = await session.get(Subscription, hook)
    assert subscription is not None
    assert subscription.disabled_at is None
    assert subscription.consecutive_failures == 4


# -- what staff see -------------------------------------------------------------------------


async def test_staff_create_webhooks_see_the_secret_once_and_read_the_delivery_log(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    worker: DeliveryWorker,
    http_receiver: HttpReceiver,
) -> None:
    [eth] = await _components(database, "ETH wallet")
    made = await client.post(
        "/api/staff/subscriptions",
        json={"channel": "webhook", "url": http_receiver.url(), "component_ids": [eth]},
        headers=support,
    )
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["secret"].startswith("whsec_")
    read = await client.get(f"/api/staff/subscriptions/{created['id']}", headers=support)
    assert "secret" not in read.json()
    assert read.json()["component_ids"] == [eth]
    http_receiver.script = [Reply(500, b"oops")]
    incident = await _open(database, eth)
    await worker.drain()
    log = await client.get(f"/api/staff/incidents/{incident}/deliveries", headers=support)
    [entry] = log.json()
    assert (entry["kind"], entry["state"], entry["attempts"]) == ("incident.opened", "pending", 1)
    assert entry["history"][0]["outcome"] == "retry"
    assert entry["history"][0]["status_code"] == 500
    assert entry["history"][0]["error"] == "HTTP 500: oops"


async def test_staff_disable_enable_and_delete_a_subscription(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    worker: DeliveryWorker,
    http_receiver: HttpReceiver,
    clock: Clock,
) -> None:
    [eth] = await _components(database, "ETH wallet")
    hook = await _hook(database, http_receiver.url())
    off = await client.patch(
        f"/api/staff/subscriptions/{hook}", json={"enabled": False}, headers=support
    )
    assert off.json()["disabled_reason"] == "disabled by staff"
    await _open(database, eth)
    assert await worker.drain() == 0
    on = await client.patch(
        f"/api/staff/subscriptions/{hook}", json={"enabled": True}, headers=support
    )
    assert on.json()["disabled_at"] is None
    test = await client.post(f"/api/staff/subscriptions/{hook}/test", headers=support)
    assert test.status_code == 202
    clock.now = datetime.now(UTC)  # the API stamped the test message with the real time
    assert await worker.drain() == 1
    assert _types(http_receiver) == ["subscription.test"]
    gone = await client.delete(f"/api/staff/subscriptions/{hook}", headers=support)
    assert gone.json() == {"deleted": hook}
    missing = await client.get(f"/api/staff/subscriptions/{hook}", headers=support)
    assert missing.status_code == 404


async def test_a_second_subscription_to_the_same_url_is_refused(
    client: httpx.AsyncClient, support: dict[str, str], http_receiver: HttpReceiver
) -> None:
    body = {"channel": "slack", "url": http_receiver.url()}
    assert (
        await client.post("/api/staff/subscriptions", json=body, headers=support)
    ).status_code == 201
    again = await client.post("/api/staff/subscriptions", json=body, headers=support)
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "url"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email"}, "email"),
        ({"channel": "webhook", "url": "ftp://example.com/x"}, "url"),
        ({"channel": "telegram", "bot_token": "nope", "chat_id": "42"}, "bot_token"),
        ({"channel": "slack", "url": "https://hooks.example.com/a", "secret": "s"}, "secret"),
        (
            {"channel": "webhook", "url": "https://hooks.example.com/a", "language": "fr"},
            "language",
        ),
    ],
)
async def test_a_bad_subscription_is_refused_naming_the_field(
    client: httpx.AsyncClient, support: dict[str, str], body: dict[str, str], field: str
) -> None:
    response = await client.post("/api/staff/subscriptions", json=body, headers=support)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
