"""Migration 0014 on batches made before it: who prepared each batch comes back from the audit
log as the flows record it now."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from statuspage.db import Database, alembic_config
from tests.compensation.helpers import COMP, HEADER, REFUND_ALL, Scene, make_scene
from tests.statuspage.test_migrations import _migrate_to, _run

ROW = "acc-1,USDT,2,1,trade,Spot trading,2026-03-01T02:10:00Z\n"
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision("0014").down_revision
assert isinstance(BEFORE, str)


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


def _contributors(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(
        text(
            "SELECT batch_id, staff_id, contribution FROM compensation_contributors"
            " ORDER BY batch_id, staff_id, contribution"
        )
    )
    return [tuple(row) for row in rows]


def _has_contributors(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return "compensation_contributors" in inspect(connection).get_table_names()


async def _prepared_batches(scene: Scene) -> tuple[int, int]:
    policy_id = await scene.policy(REFUND_ALL)
    batch_id = await scene.batch(policy_id)
    assert (await scene.upload(batch_id, HEADER + ROW)).status_code == 200
    cleared = await scene.client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.admin)
    assert cleared.status_code == 200
    await scene.client.patch(
        f"{COMP}/policies/{policy_id}",
        json={"rules": {**REFUND_ALL, "percent": "50"}},
        headers=scene.drafter,
    )
    refreshed = await scene.client.post(
        f"{COMP}/batches/{batch_id}/refresh-policy", headers=scene.approver
    )
    assert refreshed.status_code == 200
    coupon = await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"}, name="C")
    pasted_id = await scene.batch(coupon)
    pasted = await scene.client.post(
        f"{COMP}/batches/{pasted_id}/accounts",
        json={"account_ids": ["acc-1"]},
        headers=scene.approver,
    )
    assert pasted.status_code == 200
    return batch_id, pasted_id


async def test_0014_finds_who_prepared_each_batch_in_the_audit_log(
    scene: Scene, database: Database
) -> None:
    batch_id, pasted_id = await _prepared_batches(scene)
    recorded = await _run(database, _contributors)
    assert {(batch, what) for batch, _, what in recorded} == {
        (batch_id, "created"),
        (batch_id, "loaded_events"),
        (batch_id, "cleared_intake"),
        (batch_id, "refreshed_policy"),
        (pasted_id, "created"),
        (pasted_id, "loaded_accounts"),
    }
    await _run(database, _migrate_to, BEFORE)
    assert await _run(database, _has_contributors) is False
    await _run(database, _migrate_to, "head")
    assert await _run(database, _contributors) == recorded
    refused = await scene.client.post(f"{COMP}/batches/{pasted_id}/approve", headers=scene.approver)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"you loaded the accounts of batch {pasted_id}: a second finance user must approve it"
    )


def _live_batches(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(
        text("SELECT id, state, cancel_reason FROM compensation_batches ORDER BY id")
    )
    return [tuple(row) for row in rows]


def _copies(connection: Connection, batch_id: int, states: list[str]) -> list[int]:
    """Copies of a batch in these states, as concurrent drafts made them before 0014."""
    made = []
    for state in states:
        connection.execute(
            text(
                "INSERT INTO compensation_batches (incident_id, policy_id, policy_version,"
                " policy_kind, rules, state, intake, totals, created_by, created_at, updated_at)"
                " SELECT incident_id, policy_id, policy_version, policy_kind, rules, :state,"
                " intake, totals, created_by, created_at, updated_at"
                " FROM compensation_batches WHERE id = :id"
            ),
            {"id": batch_id, "state": state},
        )
        made.append(
            connection.execute(text("SELECT max(id) FROM compensation_batches")).scalar_one()
        )
    return made


def _cancel_audits(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(
        text(
            "SELECT entity_id, actor_id FROM audit_log"
            " WHERE action = 'compensation.batch.cancel' ORDER BY entity_id"
        )
    )
    return [tuple(row) for row in rows]


async def test_0014_cancels_extra_live_drafts_and_keeps_the_one_past_draft(
    scene: Scene, database: Database
) -> None:
    first = await scene.batch(await scene.policy(REFUND_ALL))
    other = await scene.batch(await scene.policy(REFUND_ALL, name="Other"))
    await _run(database, _migrate_to, BEFORE)
    approved, draft = await _run(database, _copies, first, ["approved", "draft"])
    (second_draft,) = await _run(database, _copies, other, ["draft"])
    await _run(database, _migrate_to, "head")
    reason = "a second live batch for this incident and policy; batch {} is kept (0014)"
    assert await _run(database, _live_batches) == [
        (first, "cancelled", reason.format(approved)),
        (other, "draft", None),
        (approved, "approved", None),
        (draft, "cancelled", reason.format(approved)),
        (second_draft, "cancelled", reason.format(other)),
    ]
    assert await _run(database, _cancel_audits) == [
        (first, None),
        (draft, None),
        (second_draft, None),
    ]


async def test_0014_stops_at_two_live_batches_past_draft(scene: Scene, database: Database) -> None:
    first = await scene.batch(await scene.policy(REFUND_ALL))
    await _run(database, _migrate_to, BEFORE)
    approved, issued = await _run(database, _copies, first, ["approved", "issued"])
    with pytest.raises(
        RuntimeError,
        match=rf"has 2 live batches past draft under policy \d+ \(batches {approved}, {issued}\)",
    ):
        await _run(database, _migrate_to, "head")

    def cancel(connection: Connection) -> None:
        connection.execute(
            text("UPDATE compensation_batches SET state = 'cancelled' WHERE id = :id"),
            {"id": approved},
        )

    await _run(database, cancel)
    await _run(database, _migrate_to, "head")
    assert [state for _, state, _ in await _run(database, _live_batches)] == [
        "cancelled",
        "cancelled",
        "issued",
    ]


def _sources(connection: Connection, batch_id: int) -> list[dict[str, Any]]:
    from sqlalchemy import JSON, column, select, table

    batches = table("compensation_batches", column("id"), column("intake", JSON()))
    intake = connection.execute(
        select(batches.c.intake).where(batches.c.id == batch_id)
    ).scalar_one()
    return list(intake["sources"])


async def test_0014_makes_a_draft_with_events_of_unknown_identity_load_them_again(
    scene: Scene, database: Database
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND_ALL))
    assert (await scene.upload(batch_id, HEADER + ROW)).status_code == 200
    await _run(database, _migrate_to, BEFORE)
    await _run(database, _migrate_to, "head")
    [source] = await _run(database, _sources, batch_id)
    assert (source["source"], source["identified"]) == ("day1.csv", False)
    crlf = (HEADER + ROW).replace("\n", "\r\n")
    refused = await scene.upload(batch_id, crlf, source="again.csv")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == {
        "code": "conflict",
        "message": f"batch {batch_id} took events before events had identities (migration "
        "0014), so an event sent again would be summed again: clear its intake and load every "
        "file again",
        "field": "file",
    }
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("2", "payable")}
    await _run(database, _migrate_to, BEFORE)
    [source] = await _run(database, _sources, batch_id)
    assert "identified" not in source
    await _run(database, _migrate_to, "head")
    await scene.client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert (await scene.upload(batch_id, HEADER + ROW)).status_code == 200
    report = (await scene.upload(batch_id, crlf, source="again.csv")).json()
    assert (report["accepted"], report["repeated"]) == (0, 1)
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("2", "payable")}
