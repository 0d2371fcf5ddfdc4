"""The console's detection pages: an admin makes a source (its URL shown once), pauses,
rotates and revokes it, makes, edits and deletes a rule, and sees the alerts received with
their decisions, in English and Chinese."""

from __future__ import annotations

import re

import httpx

from incidents.common.staff import StaffRole
from incidents.models import Component
from statuspage.db import Database
from tests.statuspage.api.alert_payloads import alert, payload
from tests.statuspage.console_helpers import signed_in

_SHOWN = re.compile(r'<p class="shown-once" id="new-secret">http://127\.0\.0\.1:8000([^<]+)</p>')


def _rule_form(csrf: str, component_id: str, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "source_id": "",
        "matchers": "alertname=WithdrawalsFailing\nchain=ethereum",
        "component_id": component_id,
        "component_status": "major_outage",
        "policy": "announce",
        "language": "en",
        "en.name": "ETH withdrawals are failing",
        "en.body": "Our monitoring sees ETH withdrawals failing.",
        "en.recovery_body": "ETH withdrawals work again.",
        "zh-CN.name": "ETH 提现失败",
        "zh-CN.body": "监控发现 ETH 提现失败。",
        "zh-CN.recovery_body": "ETH 提现已恢复。",
        **fields,
    }


async def _component(database: Database) -> str:
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="ETH")
        session.add(component)
        await session.flush()
        return str(component.id)


async def test_an_admin_keeps_sources_and_rules_and_sees_the_alerts(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    made = await client.post(
        "/staff/alert-sources", data={"csrf": csrf, "name": "prod", "kind": "alertmanager"}
    )
    assert made.status_code == 200
    shown = _SHOWN.search(made.text)
    assert shown is not None
    hook = shown.group(1)
    assert hook.startswith("/api/alerts/alertmanager/as_")
    assert hook not in (await client.get("/staff/alert-sources")).text  # shown once

    component_id = await _component(database)
    bad = await client.post("/staff/alert-rules", data=_rule_form(csrf, component_id, matchers="x"))
    assert bad.status_code == 422
    assert "Write one name=value a line" in bad.text
    in_chinese = await client.post(
        "/staff/alert-rules",
        data=_rule_form(csrf, component_id, matchers="x"),
        headers={"accept-language": "zh-CN"},
    )
    assert "每行写一条 name=value" in in_chinese.text
    saved = await client.post("/staff/alert-rules", data=_rule_form(csrf, component_id))
    assert saved.status_code == 303
    listed = (await client.get("/staff/alert-rules")).text
    assert "<code>alertname=WithdrawalsFailing</code>" in listed

    fired = await client.post(hook, json=payload(alert()))
    assert fired.json()["alerts"][0]["decision"] == "announced"
    alerts = (await client.get("/staff/alerts")).text
    assert "WithdrawalsFailing" in alerts and "<td>Announced</td>" in alerts
    chinese = (await client.get("/staff/alerts?lang=zh-CN")).text
    assert "<td>已公告</td>" in chinese and "已收到的告警" in chinese

    rule_id = re.search(r'href="/staff/alert-rules/(\d+)"', listed)
    assert rule_id is not None
    edit = await client.get(f"/staff/alert-rules/{rule_id.group(1)}")
    assert "alertname=WithdrawalsFailing\nchain=ethereum</textarea>" in edit.text
    edited = await client.post(
        f"/staff/alert-rules/{rule_id.group(1)}",
        data=_rule_form(csrf, component_id, policy="draft", publish_after_minutes="5"),
    )
    assert edited.status_code == 303
    assert "published after 5 min unacknowledged" in (await client.get("/staff/alert-rules")).text
    deleted = await client.post(
        f"/staff/alert-rules/{rule_id.group(1)}/delete", data={"csrf": csrf}
    )
    assert deleted.status_code == 303
    assert "No rules yet" in (await client.get("/staff/alert-rules")).text

    found = re.search(r'action="/staff/alert-sources/(\d+)/paused"', made.text)
    assert found is not None
    one = f"/staff/alert-sources/{found.group(1)}"
    paused = await client.post(one + "/paused", data={"csrf": csrf, "paused": "true"})
    assert paused.status_code == 303
    assert "<td>paused</td>" not in (await client.get("/staff/alert-sources")).text
    assert '<span class="badge">paused</span>' in (await client.get("/staff/alert-sources")).text
    rotated = await client.post(one + "/rotate", data={"csrf": csrf})
    new = _SHOWN.search(rotated.text)
    assert new is not None and new.group(1) != hook
    assert (await client.post(hook, json=payload(alert()))).status_code == 401
    revoked = await client.post(one + "/revoke", data={"csrf": csrf})
    assert revoked.status_code == 303
    assert (await client.post(new.group(1), json=payload(alert()))).status_code == 401
    again = await client.post(one + "/rotate", data={"csrf": csrf})
    assert again.status_code == 409
    assert f"alert source {found.group(1)} is revoked" in again.text


async def test_a_new_rule_is_written_in_the_staffer_s_language_unless_they_choose(
    client: httpx.AsyncClient, database: Database
) -> None:
    await signed_in(client, database, StaffRole.admin)
    selected = re.compile(r'<option value="([\w-]+)" lang="[\w-]+" selected>')
    english = selected.findall((await client.get("/staff/alert-rules")).text)
    chinese = (await client.get("/staff/alert-rules", headers={"accept-language": "zh-CN"})).text
    assert english == ["en"] and selected.findall(chinese) == ["zh-CN"]


async def test_support_sees_the_pages_but_cannot_make_sources(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    page = await client.get("/staff/alert-sources")
    assert page.status_code == 200
    assert "Add a source" not in page.text
    refused = await client.post("/staff/alert-sources", data={"csrf": csrf, "name": "x"})
    assert refused.status_code == 403
