"""A correction of an incident (a component taken off it) and the compensation computed from
its impact windows (issue 17): refused while a batch of the incident stands approved or issued;
a draft with events loaded goes stale and must be loaded again before it is approved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from compensation.errors import Conflict
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation import slow_upload
from tests.compensation.helpers import COMP, EVENTS, REFUND_ALL, Scene, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

API = "/api/staff"


async def _correct(scene: Scene) -> httpx.Response:
    return await scene.client.post(
        f"{API}/incidents/{scene.incident_id}/corrections",
        json={"component_id": scene.spot_id, "body": "Spot trading was listed by mistake."},
        headers=scene.support,
    )


async def _loaded(client: httpx.AsyncClient, make_token: MakeToken) -> tuple[Scene, int]:
    """The scene with a draft of the refund policy, its events loaded."""
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(await scene.policy(REFUND_ALL))
    assert (await scene.upload(batch_id, EVENTS)).status_code == 200
    return scene, batch_id


async def test_a_correction_is_refused_while_a_batch_of_the_incident_is_approved(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    scene, batch_id = await _loaded(client, make_token)
    approved = await client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert approved.status_code == 200, approved.text
    refused = await _correct(scene)
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "conflict",
        "message": f"batch {batch_id} of this incident is approved: it pays what was computed "
        "before, so the incident's components can no longer be corrected",
        "field": "component_id",
    }
    incident = await client.get(f"{API}/incidents/{scene.incident_id}", headers=scene.support)
    assert incident.json()["component_ids"] == [scene.spot_id]  # unchanged


async def test_a_draft_goes_stale_and_is_approved_only_once_loaded_again(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    scene, batch_id = await _loaded(client, make_token)
    assert (await _correct(scene)).status_code == 201  # a draft does not stop the correction
    stale = {
        "code": "conflict",
        "message": "the incident was corrected after this batch's events were loaded: clear "
        "the intake and load the events again",
        "field": "intake",
    }
    approve = await client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert approve.status_code == 409 and approve.json()["error"] == stale
    more = await scene.upload(batch_id, EVENTS, source="day2.csv")
    assert more.status_code == 409 and more.json()["error"] == stale
    cleared = await client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert cleared.status_code == 200, cleared.text
    again = await scene.upload(batch_id, EVENTS)
    assert again.status_code == 200, again.text
    # Spot trading is off the incident now: its events no longer fall in any impact window.
    assert await scene.lines(batch_id) == {}
    nothing = await client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert nothing.status_code == 409
    assert nothing.json()["error"]["message"] == "the batch pays no account: nothing to approve"


async def test_reopening_makes_a_loaded_draft_stale_and_is_refused_once_a_batch_is_approved(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Reopening lengthens the impact windows the batch was computed from, as a correction
    shortens them."""
    scene, batch_id = await _loaded(client, make_token)
    incident = f"{API}/incidents/{scene.incident_id}"
    body = {"body": "Spot trading orders are stuck again."}
    reopened = await client.post(f"{incident}/reopen", json=body, headers=scene.support)
    assert reopened.status_code == 200, reopened.text
    approve = await client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert approve.status_code == 409
    assert approve.json()["error"]["field"] == "intake"  # stale: load the events again
    resolved = await client.post(
        f"{incident}/resolve", json={"body": "Orders fill again."}, headers=scene.support
    )
    assert resolved.status_code == 200, resolved.text
    cleared = await client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert cleared.status_code == 200, cleared.text
    assert (await scene.upload(batch_id, EVENTS)).status_code == 200
    approved = await client.post(f"{COMP}/batches/{batch_id}/approve", headers=scene.approver)
    assert approved.status_code == 200, approved.text
    refused = await client.post(f"{incident}/reopen", json=body, headers=scene.support)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"batch {batch_id} of this incident is approved: it pays what was computed before, so "
        "the incident cannot be reopened; open a new incident instead"
    )


async def test_the_console_says_why_a_correction_is_refused_in_both_languages(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene, batch_id = await _loaded(client, make_token)
    await scene.approve_and_issue(batch_id)
    await add_staff(database, StaffRole.support, "agent@example.com")
    assert (await sign_in(client, "agent@example.com")).status_code == 303
    page = f"/staff/incidents/{scene.incident_id}"
    csrf = csrf_of((await client.get(page)).text)
    correction = {
        "csrf": csrf,
        "component_id": str(scene.spot_id),
        "body_en": "Spot trading was listed by mistake.",
        "confirmed": "yes",
    }
    english = await client.post(page + "/corrections", data=correction)
    assert english.status_code == 409
    assert (
        f"batch {batch_id} of this incident is issued: it pays what was computed before, so the "
        "incident&#39;s components can no longer be corrected"
    ) in english.text
    chinese = await client.post(
        page + "/corrections", data=correction, headers={"accept-language": "zh-CN"}
    )
    assert chinese.status_code == 409
    assert f"此事件的批次 {batch_id} 当前为" in chinese.text
    assert "它按更正前的计算支付，因此不能再更正此事件的组件" in chinese.text


async def test_the_batch_page_says_a_draft_is_stale_and_what_to_do_in_both_languages(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene, batch_id = await _loaded(client, make_token)
    await add_staff(database, StaffRole.finance, "officer@example.com")
    assert (await sign_in(client, "officer@example.com")).status_code == 303
    page = f"/staff/finance/batches/{batch_id}"
    approve = f'action="/staff/finance/batches/{batch_id}/approve"'
    fresh = (await client.get(page)).text
    assert 'id="stale"' not in fresh and approve in fresh
    assert (await _correct(scene)).status_code == 201
    english = (await client.get(page)).text
    assert "This draft is stale: the incident was corrected after its events were loaded" in english
    assert '<a href="#intake">Clear its intake and load the events again.</a>' in english
    # no Approve button the server would refuse: what waits, and why, instead
    assert approve not in english
    assert "Approval waits until the events are loaded again." in english
    chinese = (await client.get(page, headers={"accept-language": "zh-CN"})).text
    assert "此草稿已过时" in chinese and "清空已导入数据，然后重新导入事件。" in chinese
    assert approve not in chinese and "重新导入事件后才能审批。" in chinese
    cleared = await client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert cleared.status_code == 200, cleared.text
    again = (await client.get(page)).text
    assert 'id="stale"' not in again and approve in again


# -- a correction or a reopening that lands while an upload is being read -----------------


async def _read_before(scene: Scene, database: Database) -> tuple[int, Any, Any]:
    """A draft, and an upload to it read (against the windows as they are) but not committed."""
    batch_id = await scene.batch(await scene.policy(REFUND_ALL))
    return batch_id, *await slow_upload.planned(database, batch_id, EVENTS)


async def _refused_at_commit(scene: Scene, database: Database, plan: Any, collected: Any) -> None:
    batch = await scene.client.get(f"{COMP}/batches/{plan.batch_id}", headers=scene.drafter)
    with pytest.raises(Conflict, match="the incident's impact changed during the upload"):
        await slow_upload.commit(database, plan, collected, batch.json()["created_by"])
    assert await scene.lines(plan.batch_id) == {}  # nothing paid against the old windows


async def test_an_upload_read_before_a_correction_is_refused_at_its_commit(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    scene = await make_scene(client, make_token)
    batch_id, plan, collected = await _read_before(scene, database)
    assert (await _correct(scene)).status_code == 201  # the batch had nothing loaded yet
    await _refused_at_commit(scene, database, plan, collected)
    again = await scene.upload(batch_id, EVENTS)  # read against the windows as they are now
    assert again.status_code == 200, again.text
    assert await scene.lines(batch_id) == {}


async def test_an_upload_read_before_a_reopening_is_refused_at_its_commit(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    scene = await make_scene(client, make_token)
    batch_id, plan, collected = await _read_before(scene, database)
    reopened = await client.post(
        f"{API}/incidents/{scene.incident_id}/reopen",
        json={"body": "Spot trading fails again."},
        headers=scene.support,
    )
    assert reopened.status_code == 200, reopened.text
    await _refused_at_commit(scene, database, plan, collected)
    refused = await scene.upload(batch_id, EVENTS)  # open again: nothing to count against yet
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "conflict",
        "message": f"incident {scene.incident_id} was reopened: its events are taken once it "
        "is resolved again",
        "field": "file",
    }
