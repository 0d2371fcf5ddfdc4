"""The support console: dashboard, opening from a template, updates, preview, schedule, resolve."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import PostState, ScheduledPost
from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from incidents.models import Incident, IncidentStatus, IncidentUpdate
from statuspage.db import Database
from tests.statuspage.console_helpers import add_components, chosen_statuses, signed_in

COMPONENTS = ("BTC withdrawals", "ETH and ERC-20 withdrawals", "Spot trading", "Login and 2FA")


async def _open(client: httpx.AsyncClient, csrf: str, ids: dict[str, int], **more: str) -> str:
    form = {
        "csrf": csrf,
        "name_en": "ETH withdrawals delayed",
        "name_zh-CN": "ETH 提现延迟",
        "status": "investigating",
        "impact": "",
        "component_ids": str(ids["ETH and ERC-20 withdrawals"]),
        f"status_{ids['ETH and ERC-20 withdrawals']}": "degraded_performance",
        "body_en": "ETH withdrawals are queued.",
        "body_zh-CN": "ETH 提现排队中。",
        **more,
    }
    answer = await client.post("/staff/incidents/new", data=form)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("?")[0]


async def test_a_template_preselects_its_components(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    await signed_in(client, database, StaffRole.support)
    page = await client.get("/staff/incidents/new?template=withdrawals-delayed")
    assert page.status_code == 200
    assert chosen_statuses(page.text) == {
        ids["BTC withdrawals"]: "degraded_performance",
        ids["ETH and ERC-20 withdrawals"]: "degraded_performance",
    }
    assert 'name="component_ids"' not in page.text  # one control per component: its select
    assert 'value="Withdrawals delayed on one chain"' in page.text
    assert "部分链提现延迟" in page.text
    login = await client.get("/staff/incidents/new?template=login-2fa")
    assert chosen_statuses(login.text) == {ids["Login and 2FA"]: "partial_outage"}


async def test_opening_an_incident_publishes_it_in_both_languages(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _open(client, csrf, ids, cause_en="A node fell behind.")
    page = await client.get(location)
    assert page.status_code == 200
    assert "The incident is open and published." not in page.text  # no ?done on this GET
    assert "<li>ETH and ERC-20 withdrawals: Operational → Degraded performance</li>" in page.text
    public = await client.get("/")
    assert "ETH withdrawals delayed" in public.text
    chinese = await client.get("/?lang=zh-CN")
    assert "ETH 提现延迟" in chinese.text
    async with database.sessionmaker() as session:
        incident = await session.scalar(select(Incident))
        assert incident is not None
        assert incident.translations == {"zh-CN": {"name": "ETH 提现延迟"}}


async def test_a_missing_message_is_shown_next_to_its_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    answer = await client.post(
        "/staff/incidents/new",
        data={
            "csrf": csrf,
            "name_en": "Trading slow",
            "body_en": "",
            "component_ids": str(ids["Spot trading"]),
        },
    )
    assert answer.status_code == 422
    assert '<span class="field-error" id="body-error">Message is required</span>' in answer.text
    assert 'value="Trading slow"' in answer.text  # what was typed stays
    async with database.sessionmaker() as session:
        assert await session.scalar(select(Incident)) is None


async def test_preview_post_schedule_and_resolve(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _open(client, csrf, ids)
    update = {
        "csrf": csrf,
        "status": "identified",
        "body_en": "We found the **stuck node**.",
        "body_zh-CN": "我们找到了卡住的节点。",
        "cause_en": "A full disk on one node.",
        "eta": (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    preview = await client.post(location + "/updates", data={**update, "action": "preview"})
    assert preview.status_code == 200
    assert "<strong>stuck node</strong>" in preview.text
    assert "我们找到了卡住的节点。" in preview.text
    assert "Email subject: [Status] Incident update: ETH withdrawals delayed" in preview.text
    async with database.sessionmaker() as session:
        assert len((await session.scalars(select(IncidentUpdate))).all()) == 1  # nothing posted
    posted = await client.post(location + "/updates", data={**update, "action": "post"})
    assert posted.status_code == 303
    assert posted.headers["location"] == location + "?done=update_posted"
    shown = await client.get(posted.headers["location"])
    assert "The update is posted." in shown.text
    later = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    scheduled = await client.post(
        location + "/updates",
        data={
            **update,
            "status": "monitoring",
            "body_en": "Fix deployed.",
            "run_at": later,
            "action": "schedule",
        },
    )
    assert scheduled.status_code == 303
    async with database.sessionmaker() as session:
        post = await session.scalar(select(ScheduledPost))
        assert post is not None and post.state == PostState.pending
        assert post.payload["body"] == "Fix deployed."
    empty = await client.post(location + "/resolve", data={"csrf": csrf, "body_en": ""})
    assert empty.status_code == 422
    assert '<span class="field-error" id="resolve.body-error">Message is required' in empty.text
    closing = {"csrf": csrf, "body_en": "All good.", "body_zh-CN": "已恢复。"}
    asked = await client.post(location + "/resolve", data=closing)
    assert asked.status_code == 200
    assert "<h1>Resolve this incident?</h1>" in asked.text
    assert '<input type="hidden" name="body_zh-CN" value="已恢复。">' in asked.text
    async with database.sessionmaker() as session:
        still = await session.scalar(select(Incident))
        assert still is not None and still.status == IncidentStatus.identified  # not yet
    resolved = await client.post(location + "/resolve", data={**closing, "confirmed": "yes"})
    assert resolved.status_code == 303
    async with database.sessionmaker() as session:
        incident = await session.scalar(select(Incident))
        assert incident is not None and incident.status == IncidentStatus.resolved
    pm = await client.post(
        location + "/postmortem", data={"csrf": csrf, "body_en": "A disk filled up."}
    )
    assert pm.status_code == 303
    incident_page = await client.get(location)
    assert "A disk filled up." in incident_page.text


async def test_the_dashboard_warns_of_a_quiet_incident_and_a_past_eta(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    await _open(
        client, csrf, ids, eta=(utcnow() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    )
    calm = await client.get("/staff/")
    assert "ETH withdrawals delayed" in calm.text
    assert "quiet: post an update" not in calm.text
    assert "past ETA" not in calm.text
    async with database.sessionmaker() as session, session.begin():
        update = await session.scalar(select(IncidentUpdate))
        assert update is not None
        update.display_at = utcnow() - timedelta(hours=3)
        update.expected_resolution_at = utcnow() - timedelta(hours=1)
    late = await client.get("/staff/")
    assert "180 min ago" in late.text
    assert "quiet: post an update" in late.text
    assert "past ETA" in late.text
