"""Support in the console: what the opening form shows is what is published, a draft and a
preview before publishing, a component listed by mistake taken off, an update's text
edited, a resolved incident reopened."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from incidents import service
from incidents.broadcasting.models import BroadcastEvent
from incidents.common.staff import StaffRole
from incidents.models import Incident, IncidentStatus
from statuspage.db import Database
from tests.statuspage.console_helpers import add_components, chosen_statuses, signed_in

COMPONENTS = ("BTC withdrawals", "ETH withdrawals", "Bank withdrawals", "Spot trading")


def _opening(csrf: str, ids: dict[str, int], action: str, **more: str) -> dict[str, str]:
    """The withdrawals template as support leaves it: ETH degraded, the other two
    withdrawals set back to "not affected" (empty)."""
    return {
        "csrf": csrf,
        "name_en": "ETH withdrawals delayed",
        "name_zh-CN": "ETH 提现延迟",
        "status": "investigating",
        "impact": "",
        f"status_{ids['BTC withdrawals']}": "",
        f"status_{ids['ETH withdrawals']}": "degraded_performance",
        f"status_{ids['Bank withdrawals']}": "",
        "body_en": "ETH withdrawals are queued.",
        "body_zh-CN": "ETH 提现排队中。",
        "action": action,
        **more,
    }


async def _incident(database: Database) -> Incident:
    async with database.sessionmaker() as session:
        found = await session.scalar(select(Incident))
        assert found is not None
        return await service.get_incident(session, incident_id=found.id)


async def test_a_component_left_not_affected_is_not_published(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    form = await client.get("/staff/incidents/new?template=withdrawals-delayed")
    assert set(chosen_statuses(form.text)) == {
        ids["BTC withdrawals"],
        ids["ETH withdrawals"],
        ids["Bank withdrawals"],
    }
    opened = await client.post("/staff/incidents/new", data=_opening(csrf, ids, "publish"))
    assert opened.status_code == 303, opened.text
    incident = await _incident(database)
    assert [component.name for component in incident.components] == ["ETH withdrawals"]
    public = await client.get(f"/incidents/{incident.shortlink}")
    assert "ETH withdrawals" in public.text
    assert "BTC withdrawals" not in public.text and "Bank withdrawals" not in public.text


async def test_opening_previews_both_languages_with_the_component_changes(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    shown = await client.post("/staff/incidents/new", data=_opening(csrf, ids, "preview"))
    assert shown.status_code == 200
    assert "<li>ETH withdrawals: Operational → Degraded performance</li>" in shown.text
    assert "<li>ETH withdrawals：正常运行 → 性能下降</li>" in shown.text
    assert "Email subject: [Status] New incident: ETH withdrawals delayed" in shown.text
    assert "ETH 提现排队中。" in shown.text
    assert chosen_statuses(shown.text) == {ids["ETH withdrawals"]: "degraded_performance"}
    async with database.sessionmaker() as session:
        assert await session.scalar(select(Incident)) is None  # nothing opened


async def test_a_draft_waits_on_the_dashboard_until_published_from_its_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    saved = await client.post("/staff/incidents/new", data=_opening(csrf, ids, "draft"))
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("?done=draft_saved")
    incident = await _incident(database)
    assert incident.draft is True
    dashboard = await client.get("/staff/")
    assert 'ETH withdrawals delayed</a> <span class="badge">Draft</span>' in dashboard.text
    assert (await client.get(f"/incidents/{incident.shortlink}")).status_code == 404
    assert "ETH withdrawals delayed" not in (await client.get("/")).text
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(BroadcastEvent))).all() == []
        eth = await service.get_component(session, component_id=ids["ETH withdrawals"])
        assert eth.status.value == "operational"
    page = await client.get(f"/staff/incidents/{incident.id}")
    assert "A draft: not published" in page.text
    published = await client.post(f"/staff/incidents/{incident.id}/publish", data={"csrf": csrf})
    assert published.status_code == 303
    assert "ETH withdrawals delayed" in (await client.get("/")).text
    async with database.sessionmaker() as session:
        assert [e.kind for e in (await session.scalars(select(BroadcastEvent))).all()] == [
            "incident.opened"
        ]


async def test_a_component_listed_by_mistake_is_taken_off_after_confirming(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    both = _opening(
        csrf, ids, "publish", **{f"status_{ids['BTC withdrawals']}": "degraded_performance"}
    )
    await client.post("/staff/incidents/new", data=both)
    incident = await _incident(database)
    page = await client.get(f"/staff/incidents/{incident.id}")
    assert "Correction: BTC withdrawals was listed here by mistake" in page.text
    correction = {
        "csrf": csrf,
        "component_id": str(ids["BTC withdrawals"]),
        "body_en": "Correction: BTC withdrawals were not affected.",
        "body_zh-CN": "更正：BTC 提现未受影响。",
    }
    url = f"/staff/incidents/{incident.id}/corrections"
    asked = await client.post(url, data=correction)
    assert "<h1>Take this component off the incident?</h1>" in asked.text
    assert "<strong>BTC withdrawals</strong>" in asked.text
    assert len((await _incident(database)).components) == 2  # not yet
    done = await client.post(url, data={**correction, "confirmed": "yes"})
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=component_removed")
    after = await _incident(database)
    assert [component.name for component in after.components] == ["ETH withdrawals"]
    assert list(service.impact_windows(after)) == [ids["ETH withdrawals"]]
    page = await client.get(done.headers["location"])
    assert "Taken off the incident: BTC withdrawals" in page.text
    public = await client.get(f"/incidents/{incident.shortlink}?lang=zh-CN")
    assert "<strong>更正</strong>" in public.text and "更正：BTC 提现未受影响。" in public.text
    eth = str(ids["ETH withdrawals"])
    empty = await client.post(
        url, data={**correction, "component_id": eth, "body_en": "", "confirmed": "yes"}
    )
    assert empty.status_code == 422
    assert 'id="correct.body-error">请填写内容' in empty.text  # the field in words


async def test_an_update_is_edited_and_a_resolved_incident_reopened(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    await client.post("/staff/incidents/new", data=_opening(csrf, ids, "publish"))
    incident = await _incident(database)
    first = incident.updates[0]
    page = await client.get(f"/staff/incidents/{incident.id}")
    assert "ETH withdrawals are queued.</textarea>" in page.text  # the edit form, filled
    edit = f"/staff/incidents/{incident.id}/updates/{first.id}/edit"
    text = {
        "csrf": csrf,
        "body_en": "ETH and ERC-20 withdrawals are queued.",
        "body_zh-CN": "ETH 及 ERC-20 提现排队中。",
    }
    edited = await client.post(edit, data=text)
    assert edited.status_code == 303
    assert "edited " in (await client.get(edited.headers["location"])).text
    public = await client.get(f"/incidents/{incident.shortlink}")
    assert "ETH and ERC-20 withdrawals are queued." in public.text
    assert '<span class="edited">edited ' in public.text
    refused = await client.post(edit, data={**text, "body_en": ""})
    assert refused.status_code == 422 and 'id="edit.body-error"' in refused.text

    closing = {"csrf": csrf, "body_en": "Fixed.", "confirmed": "yes"}
    await client.post(f"/staff/incidents/{incident.id}/resolve", data=closing)
    page = await client.get(f"/staff/incidents/{incident.id}")
    assert "Reopen incident" in page.text
    reopened = await client.post(
        f"/staff/incidents/{incident.id}/reopen",
        data={
            "csrf": csrf,
            "status": "identified",
            "body_en": "Delays are back.",
            f"status_{ids['ETH withdrawals']}": "partial_outage",
        },
    )
    assert reopened.status_code == 303, reopened.text
    again = await _incident(database)
    assert again.status == IncidentStatus.identified and again.resolved_at is None
    async with database.sessionmaker() as session:
        eth = await service.get_component(session, component_id=ids["ETH withdrawals"])
        assert eth.status.value == "partial_outage"
