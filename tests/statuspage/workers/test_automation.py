"""What the scheduler does, driven by a clock the test sets: progress broadcasts on a cadence,
reminders to staff, maintenance reminders and automatic start and completion, scheduled posts.
A run that comes late does each thing once; a run repeated does nothing more."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from incidents import flows, maintenance_flows
from incidents.broadcasting.models import Audience, BroadcastEvent, PostState, ScheduledPost
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.models import Component, ComponentStatus, Maintenance, MaintenanceStatus
from incidents.schemas import IncidentOpen, MaintenanceIn, MaintenancePatch, UpdateIn
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from statuspage.workers.delivery import DeliveryWorker
from tests.receivers import HttpReceiver

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def actor(minutes: float) -> Actor:
    return Actor(staff_id=None, default_language="en", now=at(minutes))


async def _component(database: Database, name: str = "BTC wallet") -> int:
    async with database.sessionmaker() as session, session.begin():
        component = Component(name=name)
        session.add(component)
        await session.flush()
        return component.id


async def _open(
    database: Database, component_id: int, impact: str = "critical", **more: object
) -> int:
    data = IncidentOpen.model_validate(
        {
            "name": "BTC withdrawals delayed",
            "body": "Withdrawals are queued.",
            "impact": impact,
            "components": {component_id: "major_outage"},
            "display_at": T0,
            **more,
        }
    )
    async with database.sessionmaker() as session, session.begin():
        return (await flows.open_incident(session, data=data, actor=actor(0))).id


async def _update(database: Database, incident_id: int, minutes: float, **more: object) -> None:
    data = UpdateIn.model_validate({"status": "identified", "body": "Resyncing.", **more})
    async with database.sessionmaker() as session, session.begin():
        await flows.post_update(session, incident_id=incident_id, data=data, actor=actor(minutes))


async def _events(database: Database, kind: str) -> list[BroadcastEvent]:
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(BroadcastEvent).where(BroadcastEvent.kind == kind).order_by(BroadcastEvent.id)
        )
        return list(rows)


async def _run(database: Database, settings: Settings, minutes: float) -> list[str]:
    return await automation.run_due(database, settings, now=at(minutes))


# -- progress broadcasts --------------------------------------------------------------------


async def test_a_quiet_critical_incident_gets_a_progress_broadcast_every_30_minutes(
    database: Database, settings: Settings
) -> None:
    incident = await _open(database, await _component(database))
    assert await _run(database, settings, 29) == []
    assert await _run(database, settings, 30) == [
        f"incident {incident} progress broadcast",
        f"incident {incident} quiet reminder",
    ]
    assert await _run(database, settings, 31) == []  # said once
    [progress] = await _events(database, "incident.progress")
    assert progress.payload["next_update_by"] == at(60).isoformat()
    assert progress.payload["last_update"]["body"] == {"en": "Withdrawals are queued."}
    assert f"incident {incident} progress broadcast" in await _run(database, settings, 60)
    assert len(await _events(database, "incident.progress")) == 2


async def test_a_scheduler_that_was_down_for_hours_sends_one_progress_broadcast(
    database: Database, settings: Settings
) -> None:
    await _open(database, await _component(database))
    await _run(database, settings, 240)
    await _run(database, settings, 241)
    assert len(await _events(database, "incident.progress")) == 1


async def test_a_staff_update_restarts_the_cadence_and_impact_sets_its_length(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    critical = await _open(database, wallet)
    minor = await _open(database, wallet, impact="minor", name="Slow deposit credits")
    await _update(database, critical, 20)
    await _run(database, settings, 45)
    assert await _events(database, "incident.progress") == []
    await _run(database, settings, 50)
    assert [event.incident_id for event in await _events(database, "incident.progress")] == [
        critical
    ]
    await _run(database, settings, 120)
    progressed = [event.incident_id for event in await _events(database, "incident.progress")]
    assert progressed.count(minor) == 1


async def test_do_not_notify_updates_do_not_count_as_telling_subscribers(
    database: Database, settings: Settings
) -> None:
    incident = await _open(database, await _component(database))
    await _update(database, incident, 20, notify=False)
    await _run(database, settings, 30)
    assert len(await _events(database, "incident.progress")) == 1


async def test_an_incident_nobody_was_told_of_gets_no_progress_broadcasts(
    database: Database, settings: Settings
) -> None:
    await _open(database, await _component(database), notify=False)
    await _run(database, settings, 90)
    assert await _events(database, "incident.progress") == []


async def test_the_progress_message_reads_well_in_each_language(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    wallet = await _component(database)
    for language, path in (("en", "/en"), ("zh-CN", "/zh")):
        async with database.sessionmaker() as session, session.begin():
            await create_subscription(
                session,
                data=SubscriptionIn(
                    channel="webhook", url=http_receiver.url(path), language=language
                ),
                actor=actor(0),
            )
    await _open(
        database,
        wallet,
        expected_resolution_at=at(90),
        cause="A node fell behind",
        translations={
            "zh-CN": {"name": "BTC 提现延迟", "body": "提现排队中。", "cause": "节点落后"}
        },
    )
    await _run(database, settings, 30)
    worker = DeliveryWorker(database, settings, clock=lambda: at(31))
    await worker.drain()
    await worker.close()
    english = json.loads(http_receiver.to("/en")[-1].body)["data"]["message"]
    chinese = json.loads(http_receiver.to("/zh")[-1].body)["data"]["message"]
    assert english["headline"] == "Still working on it"
    assert english["body"].startswith(
        "We are still working on this incident. "
        "The next update will follow by 2026-11-20 09:00 (UTC+00:00)."
    )
    assert "Last update (2026-11-20 08:00 (UTC+00:00)): Withdrawals are queued." in english["body"]
    assert "Expected resolution: 2026-11-20 09:30 (UTC+00:00)" in english["facts"]
    assert "Cause: A node fell behind" in english["facts"]
    assert chinese["headline"] == "仍在处理中"
    assert chinese["name"] == "BTC 提现延迟"
    assert chinese["body"].startswith(
        "我们仍在处理此事件，将在 2026年11月20日 09:00 (UTC+00:00) 前发布下一次更新。"
    )
    assert "原因：节点落后" in chinese["facts"]


async def test_the_page_shows_when_the_next_update_is_due(
    database: Database, settings: Settings
) -> None:
    await _open(database, await _component(database))
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/?lang=en")
    await app.running.cache.close()
    assert "Next update by 2026-11-20 08:30 (UTC+00:00)" in page.text


# -- reminders to staff ---------------------------------------------------------------------


async def test_staff_are_reminded_when_an_incident_goes_quiet_and_when_its_eta_passes(
    database: Database, settings: Settings
) -> None:
    incident = await _open(database, await _component(database), impact="major")
    await _update(database, incident, 10, expected_resolution_at=at(40))
    await _run(database, settings, 39)
    assert await _events(database, "staff.reminder") == []
    await _run(database, settings, 41)
    [eta] = await _events(database, "staff.reminder")
    assert (eta.payload["reason"], eta.audience) == ("eta_passed", Audience.staff)
    await _run(database, settings, 70)
    reminders = await _events(database, "staff.reminder")
    assert [event.payload["reason"] for event in reminders] == ["eta_passed", "quiet"]
    assert reminders[1].payload["quiet_minutes"] == 60
    await _run(database, settings, 75)
    assert len(await _events(database, "staff.reminder")) == 2


async def test_staff_reminders_go_to_the_support_channel_only(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    wallet = await _component(database)
    async with database.sessionmaker() as session, session.begin():
        for path, audience in (("/public", "public"), ("/support", "staff")):
            await create_subscription(
                session,
                data=SubscriptionIn(
                    channel="slack", url=http_receiver.url(path), audience=audience
                ),
                actor=actor(0),
            )
    await _open(database, wallet, impact="major")
    await _run(database, settings, 60)
    worker = DeliveryWorker(database, settings, clock=lambda: at(61))
    await worker.drain()
    await worker.close()
    public = [json.loads(got.body)["text"] for got in http_receiver.to("/public")]
    support = [json.loads(got.body)["text"] for got in http_receiver.to("/support")]
    assert public == [
        "New incident: BTC withdrawals delayed",
        "Still working on it: BTC withdrawals delayed",
    ]
    assert support == [*public, "Reminder for the support team: BTC withdrawals delayed"]
    blocks = json.loads(http_receiver.to("/support")[-1].body)["blocks"]
    assert "No update has been posted for 60 minutes" in blocks[1]["text"]["text"]


# -- maintenance ----------------------------------------------------------------------------


async def _maintenance(
    database: Database, component_id: int, *, starts: float, **more: object
) -> int:
    data = MaintenanceIn.model_validate(
        {
            "name": "BTC node upgrade",
            "body": "Withdrawals pause during the upgrade.",
            "scheduled_for": at(starts),
            "scheduled_until": at(starts + 120),
            "component_ids": [component_id],
            **more,
        }
    )
    async with database.sessionmaker() as session, session.begin():
        return (await maintenance_flows.create_maintenance(session, data=data, actor=actor(0))).id


async def _maintenance_row(database: Database, maintenance_id: int) -> Maintenance:
    async with database.sessionmaker() as session:
        found = await session.get(Maintenance, maintenance_id, populate_existing=True)
        assert found is not None
        return found


async def _component_status(database: Database, component_id: int) -> ComponentStatus:
    async with database.sessionmaker() as session:
        found = await session.get(Component, component_id, populate_existing=True)
        assert found is not None
        return found.status


async def test_maintenance_is_reminded_started_and_completed_on_time_once(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    day = 24 * 60
    maintenance = await _maintenance(database, wallet, starts=2 * day)
    assert await _run(database, settings, day - 1) == []
    assert await _run(database, settings, day) == [f"maintenance {maintenance} reminder 24h"]
    assert await _run(database, settings, 2 * day - 60) == [
        f"maintenance {maintenance} reminder 1h"
    ]
    assert await _run(database, settings, 2 * day - 30) == []
    assert await _run(database, settings, 2 * day) == [f"maintenance {maintenance} started"]
    assert await _component_status(database, wallet) == ComponentStatus.under_maintenance
    assert await _run(database, settings, 2 * day + 120) == [f"maintenance {maintenance} completed"]
    assert await _component_status(database, wallet) == ComponentStatus.operational
    row = await _maintenance_row(database, maintenance)
    assert (row.status, row.started_at, row.completed_at) == (
        MaintenanceStatus.completed,
        at(2 * day),
        at(2 * day + 120),
    )
    assert [e.payload["lead_hours"] for e in await _events(database, "maintenance.reminder")] == [
        24,
        1,
    ]
    assert len(await _events(database, "maintenance.started")) == 1
    assert len(await _events(database, "maintenance.completed")) == 1


async def test_a_scheduler_down_through_the_whole_window_catches_up_without_stale_reminders(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    maintenance = await _maintenance(database, wallet, starts=3000)
    assert await _run(database, settings, 3200) == [
        f"maintenance {maintenance} started",
        f"maintenance {maintenance} completed",
    ]
    assert await _events(database, "maintenance.reminder") == []


async def test_maintenance_staff_set_to_manual_is_left_alone(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    maintenance = await _maintenance(database, wallet, starts=60, auto_start=False)
    await _run(database, settings, 200)
    assert (await _maintenance_row(database, maintenance)).status == MaintenanceStatus.scheduled


async def test_rescheduling_moves_the_reminders_and_the_start(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    maintenance = await _maintenance(database, wallet, starts=3 * 60)
    async with database.sessionmaker() as session, session.begin():
        await maintenance_flows.edit_maintenance(
            session,
            maintenance_id=maintenance,
            data=MaintenancePatch(scheduled_for=at(5 * 60), scheduled_until=at(6 * 60)),
            actor=actor(10),
        )
    assert await _run(database, settings, 3 * 60) == []  # the old start means nothing now
    assert await _run(database, settings, 4 * 60) == [f"maintenance {maintenance} reminder 1h"]
    assert await _run(database, settings, 5 * 60) == [f"maintenance {maintenance} started"]


async def test_next_due_names_the_earliest_planned_moment(
    database: Database, settings: Settings
) -> None:
    wallet = await _component(database)
    await _maintenance(database, wallet, starts=600)
    assert await automation.next_due(database, settings, now=at(1)) == at(600 - 60)
    await _open(database, wallet)
    assert await automation.next_due(database, settings, now=at(1)) == at(30)


# -- scheduled posts ------------------------------------------------------------------------


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


async def test_a_scheduled_update_goes_out_at_its_time_once(
    database: Database, settings: Settings, api: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(database, await _component(database))
    run_at = datetime.now(UTC) + timedelta(hours=2)
    made = await api.post(
        f"/api/staff/incidents/{incident}/scheduled-updates",
        json={
            "run_at": run_at.isoformat(),
            "update": {"status": "monitoring", "body": "The fix is live; we are watching."},
        },
        headers=support,
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "pending"
    await automation.run_due(database, settings, now=run_at - timedelta(seconds=1))
    assert len(await _events(database, "incident.updated")) == 0
    done = await automation.run_due(database, settings, now=run_at)
    assert done[0] == f"scheduled post {made.json()['id']} done"
    assert await automation.run_due(database, settings, now=run_at + timedelta(minutes=1)) == []
    shown = (await api.get(f"/api/staff/incidents/{incident}", headers=support)).json()
    assert shown["status"] == "monitoring"
    assert shown["updates"][-1]["display_at"] == run_at.isoformat().replace("+00:00", "Z")
    assert len(await _events(database, "incident.updated")) == 1


async def test_a_scheduled_update_that_no_longer_applies_fails_with_the_reason(
    database: Database, settings: Settings, api: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(database, await _component(database))
    run_at = datetime.now(UTC) + timedelta(hours=2)
    await api.post(
        f"/api/staff/incidents/{incident}/scheduled-updates",
        json={
            "run_at": run_at.isoformat(),
            "update": {"status": "monitoring", "body": "Watching."},
        },
        headers=support,
    )
    await api.post(
        f"/api/staff/incidents/{incident}/resolve", json={"body": "Fixed."}, headers=support
    )
    await automation.run_due(database, settings, now=run_at)
    [post] = (await api.get("/api/staff/scheduled-posts", headers=support)).json()
    assert post["state"] == "failed"
    assert "resolved" in post["error"]


async def test_a_cancelled_scheduled_post_never_goes_out(
    database: Database, settings: Settings, api: httpx.AsyncClient, support: dict[str, str]
) -> None:
    wallet = await _component(database)
    run_at = datetime.now(UTC) + timedelta(hours=1)
    made = await api.post(
        "/api/staff/scheduled-maintenances",
        json={
            "run_at": run_at.isoformat(),
            "maintenance": {
                "name": "Cold wallet rotation",
                "body": "Large withdrawals wait for the rotation.",
                "scheduled_for": (run_at + timedelta(days=2)).isoformat(),
                "scheduled_until": (run_at + timedelta(days=2, hours=1)).isoformat(),
                "component_ids": [wallet],
            },
        },
        headers=support,
    )
    post_id = made.json()["id"]
    cancelled = await api.post(f"/api/staff/scheduled-posts/{post_id}/cancel", headers=support)
    assert cancelled.json()["state"] == "cancelled"
    assert await automation.run_due(database, settings, now=run_at) == []
    async with database.sessionmaker() as session:
        assert await session.scalar(select(Maintenance.id)) is None
        post = await session.get(ScheduledPost, post_id)
    assert post is not None and post.state == PostState.cancelled


async def test_a_scheduled_maintenance_announcement_is_published_then(
    database: Database, settings: Settings, api: httpx.AsyncClient, support: dict[str, str]
) -> None:
    wallet = await _component(database)
    run_at = datetime.now(UTC) + timedelta(hours=1)
    await api.post(
        "/api/staff/scheduled-maintenances",
        json={
            "run_at": run_at.isoformat(),
            "maintenance": {
                "name": "Cold wallet rotation",
                "body": "Large withdrawals wait for the rotation.",
                "scheduled_for": (run_at + timedelta(days=2)).isoformat(),
                "scheduled_until": (run_at + timedelta(days=2, hours=1)).isoformat(),
                "component_ids": [wallet],
            },
        },
        headers=support,
    )
    await automation.run_due(database, settings, now=run_at - timedelta(seconds=1))
    async with database.sessionmaker() as session:
        assert await session.scalar(select(Maintenance.id)) is None
    await automation.run_due(database, settings, now=run_at)
    upcoming = (await api.get("/api/v2/scheduled-maintenances/upcoming.json")).json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Cold wallet rotation"]
    [announced] = await _events(database, "maintenance.scheduled")
    assert announced.created_at == run_at


async def test_a_schedule_in_the_past_is_refused(
    database: Database, api: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _open(database, await _component(database))
    response = await api.post(
        f"/api/staff/incidents/{incident}/scheduled-updates",
        json={"run_at": "2020-01-01T00:00:00Z", "update": {"status": "identified", "body": "x"}},
        headers=support,
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "run_at"
