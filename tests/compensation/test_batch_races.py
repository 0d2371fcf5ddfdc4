"""One live batch per incident and policy, kept by the database itself: twenty finance users
drafting at once get one batch, and the others a 409 naming it (not a 500)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from compensation.models import Batch, BatchState, PolicyKind
from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.compensation.helpers import COMP, REFUND_ALL, Scene, make_scene
from tests.conftest import Fresh, MakeToken

DRAFTERS = 20


@pytest.fixture
async def committed(fresh: Fresh) -> AsyncIterator[Scene]:
    """A scene whose writes really commit, each request on a connection of its own."""
    app = create_app(
        Settings(
            database_url=fresh.url, cache_poll_seconds=0, run_worker=False, run_scheduler=False
        ),
        database=fresh.database,
    )

    async def make_token(role: StaffRole, email: str | None = None) -> str:
        async with fresh.database.sessionmaker() as session, session.begin():
            staff = await tokens.create_staff(
                session, email=email or f"{role.value}@x.io", name="Someone", role=role,
                actor_id=None,
            )  # fmt: skip
            return (await tokens.create_token(session, staff=staff, name="t", actor_id=None))[1]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield await make_scene(client, make_token)
    await app.running.cache.close()


async def test_twenty_drafts_at_once_make_one_live_batch(committed: Scene, fresh: Fresh) -> None:
    scene = committed
    policy_id = await scene.policy(REFUND_ALL)
    body = {"incident_id": scene.incident_id, "policy_id": policy_id}
    answers = await asyncio.gather(
        *(
            scene.client.post(f"{COMP}/batches", json=body, headers=scene.drafter)
            for _ in range(DRAFTERS)
        )
    )
    made = [answer for answer in answers if answer.status_code == 201]
    assert len(made) == 1, [answer.text for answer in answers]
    live_id = made[0].json()["id"]
    refused = [answer for answer in answers if answer.status_code != 201]
    assert {answer.status_code for answer in refused} == {409}
    for answer in refused:
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == ("conflict", "policy_id")
        assert error["message"] == (
            f"batch {live_id} already compensates incident {scene.incident_id} under this "
            "policy; cancel it first or choose another policy"
        )
    async with fresh.database.sessionmaker() as session:
        live = await session.scalar(select(func.count()).where(Batch.state != BatchState.cancelled))
    assert live == 1


async def _batch(database: Database, scene_ids: tuple[int, int, int]) -> Batch:
    incident_id, policy_id, staff_id = scene_ids
    async with database.sessionmaker() as session, session.begin():
        batch = Batch(
            incident_id=incident_id,
            policy_id=policy_id,
            policy_version=1,
            policy_kind=PolicyKind.fee_refund,
            rules=REFUND_ALL,
            intake={},
            totals={},
            created_by=staff_id,
        )
        session.add(batch)
    return batch


async def test_the_database_refuses_a_second_live_batch_but_not_after_a_cancel(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    scene = await make_scene(client, make_token)
    first_id = await scene.batch(await scene.policy(REFUND_ALL))
    async with database.sessionmaker() as session:
        first = await session.get(Batch, first_id)
        assert first is not None
        ids = (first.incident_id, first.policy_id, first.created_by)
    with pytest.raises(IntegrityError, match=re.compile("uq_compensation_batches_live|UNIQUE")):
        await _batch(database, ids)
    cancelled = await scene.client.post(
        f"{COMP}/batches/{first_id}/cancel", json={"reason": "wrong policy"}, headers=scene.drafter
    )
    assert cancelled.status_code == 200, cancelled.text
    second = await _batch(database, ids)
    with pytest.raises(IntegrityError):
        await _batch(database, ids)
    answer = await scene.client.post(
        f"{COMP}/batches",
        json={"incident_id": ids[0], "policy_id": ids[1]},
        headers=scene.drafter,
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].startswith(f"batch {second.id} already compensates")
