"""Four eyes: whoever prepared a batch (drafted it, loaded or cleared its intake, refreshed its
policy) may not approve it, so no one person both chooses the recipients and approves them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from statuspage.db import Database
from tests.compensation.helpers import COMP, HEADER, REFUND_ALL, Scene, make_scene

ROW = "acc-1,USDT,2,1,trade,Spot trading,2026-03-01T02:10:00Z\n"
COUPON = {"kind": "coupon", "asset": "USDT", "amount": "5"}


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


async def _draft_by_the_approver(scene: Scene, rules: dict[str, Any]) -> int:
    """finance2 (the scene's approver) drafts; finance1 (the drafter) fills it."""
    policy_id = await scene.policy(rules)
    response = await scene.client.post(
        f"{COMP}/batches",
        json={"incident_id": scene.incident_id, "policy_id": policy_id},
        headers=scene.approver,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _approve(scene: Scene, batch_id: int, who: dict[str, str]) -> httpx.Response:
    return await scene.client.post(f"{COMP}/batches/{batch_id}/approve", headers=who)


def _refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json() == {
        "error": {"code": "four_eyes", "message": message, "field": "approved_by"}
    }


async def test_who_loaded_a_colleague_s_draft_may_not_approve_it(scene: Scene) -> None:
    batch_id = await _draft_by_the_approver(scene, REFUND_ALL)
    assert (await scene.upload(batch_id, HEADER + ROW)).status_code == 200
    _refused(
        await _approve(scene, batch_id, scene.drafter),
        f"you loaded the events of batch {batch_id}: a second finance user must approve it",
    )
    _refused(
        await _approve(scene, batch_id, scene.approver),
        f"you drafted batch {batch_id}: a second finance user must approve it",
    )
    issued = await scene.client.post(f"{COMP}/batches/{batch_id}/issue", headers=scene.drafter)
    assert issued.status_code == 409
    approved = await _approve(scene, batch_id, scene.admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"


async def test_pasting_accounts_into_a_colleague_s_draft_counts_as_loading_it(
    scene: Scene,
) -> None:
    batch_id = await _draft_by_the_approver(scene, COUPON)
    pasted = await scene.client.post(
        f"{COMP}/batches/{batch_id}/accounts",
        json={"account_ids": ["acc-1", "acc-2"]},
        headers=scene.drafter,
    )
    assert pasted.status_code == 200, pasted.text
    _refused(
        await _approve(scene, batch_id, scene.drafter),
        f"you loaded the accounts of batch {batch_id}: a second finance user must approve it",
    )


async def test_clearing_or_refreshing_a_draft_counts_too(scene: Scene) -> None:
    policy_id = await scene.policy(REFUND_ALL)
    batch_id = await scene.batch(policy_id)  # drafted by the drafter
    assert (await scene.upload(batch_id, HEADER + ROW)).status_code == 200
    cleared = await scene.client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.admin)
    assert cleared.status_code == 200, cleared.text
    changed = await scene.client.patch(
        f"{COMP}/policies/{policy_id}",
        json={"rules": {**REFUND_ALL, "percent": "50"}},
        headers=scene.drafter,
    )
    assert changed.json()["version"] == 2
    refreshed = await scene.client.post(
        f"{COMP}/batches/{batch_id}/refresh-policy", headers=scene.approver
    )
    assert refreshed.status_code == 200, refreshed.text
    assert (await scene.upload(batch_id, HEADER + ROW, source="again.csv")).status_code == 200
    _refused(
        await _approve(scene, batch_id, scene.admin),
        f"you cleared the intake of batch {batch_id}: a second finance user must approve it",
    )
    _refused(
        await _approve(scene, batch_id, scene.approver),
        f"you refreshed the policy of batch {batch_id}: a second finance user must approve it",
    )
    _refused(
        await _approve(scene, batch_id, scene.drafter),
        f"you drafted batch {batch_id}: a second finance user must approve it",
    )


async def test_every_refusal_leaves_the_draft_as_it_was_and_approval_is_audited(
    scene: Scene, database: Database
) -> None:
    batch_id = await _draft_by_the_approver(scene, REFUND_ALL)
    await scene.upload(batch_id, HEADER + ROW)
    await _approve(scene, batch_id, scene.drafter)
    batch = await scene.client.get(f"{COMP}/batches/{batch_id}", headers=scene.drafter)
    assert (batch.json()["state"], batch.json()["approved_by"]) == ("draft", None)
    assert (await _approve(scene, batch_id, scene.admin)).status_code == 200
    async with database.sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_type == "compensation_batch")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert actions == [
        "compensation.batch.create",
        "compensation.batch.intake",
        "compensation.batch.approve",
    ]
