"""A storm of alerts: concurrent calls of the alert hooks are written together (a few write
transactions, not one each), every call hears its own decisions, one incident opens, and a
call that fails loses nothing of the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from incidents.detection.models import Alert
from incidents.models import Incident
from statuspage.db import Database, TrackedSession
from tests.statuspage.api.alert_payloads import API, alert, payload, set_up
from tests.statuspage.api.alert_senders import component, rule, source
from tests.statuspage.api.conftest import Committed

CALLS = 60


@contextmanager
def write_transactions() -> Iterator[list[int]]:
    """Counts the transactions of the app's sessions that wrote (their savepoints aside)."""
    counted: list[int] = []

    def flushed(session: Session, _context: object) -> None:
        session.info["wrote"] = True

    def ended(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and session.info.pop("wrote", False):
            counted.append(1)

    event.listen(TrackedSession, "after_flush", flushed)
    event.listen(TrackedSession, "after_transaction_end", ended)
    try:
        yield counted
    finally:
        event.remove(TrackedSession, "after_flush", flushed)
        event.remove(TrackedSession, "after_transaction_end", ended)


@contextmanager
def statements(database: Database) -> Iterator[dict[str, list[str]]]:
    """The statements run, by the table they read from first."""
    seen: dict[str, list[str]] = {}

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        table = statement.partition("\nFROM ")[2].split(" ", 1)[0].split("\n", 1)[0]
        seen.setdefault(f"FROM {table}", []).append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)


@asynccontextmanager
async def write_lock_held(database: Database, component_id: int) -> AsyncIterator[None]:
    """Another writer holds the lock the alert writes need (SQLite's write lock, the
    component's row on PostgreSQL) until the block ends: the calls meanwhile queue up."""
    async with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            await connection.execute(
                text("SELECT id FROM components WHERE id = :id FOR UPDATE"), {"id": component_id}
            )
        else:
            await connection.execute(text("UPDATE components SET name = name WHERE id = 0"))
        yield
        await connection.rollback()


async def _calls(committed: Committed, component_id: int, sends: list[Any]) -> list[httpx.Response]:
    async with write_lock_held(committed.database, component_id):
        sent = asyncio.gather(*sends)
        await asyncio.sleep(1.0)  # every call read its source and waits for the write
    return list(await sent)


async def test_a_storm_on_one_component_is_written_together_and_opens_one_incident(
    committed: Committed,
) -> None:
    client = committed.client
    component_id, hook = await set_up(client, committed.admin)
    bodies = [payload(alert(f"f{n:04d}", instance=f"node-{n}")) for n in range(CALLS)]
    with write_transactions() as counted, statements(committed.database) as read:
        answers = await _calls(
            committed, component_id, [client.post(hook, json=body) for body in bodies]
        )
    assert [answer.status_code for answer in answers] == [200] * CALLS, answers[0].text
    assert len(counted) <= 3  # one that was under way when the lock was taken, one for the rest
    # a batch reads its source and the rules once, not once a call
    assert 1 <= len(read["FROM alert_rules"]) <= len(counted)
    assert len(read.get("FROM alert_sources", [])) <= CALLS + len(counted)  # + one per call read
    decided = [answer.json()["alerts"] for answer in answers]
    assert [[a["fingerprint"] for a in alerts] for alerts in decided] == [
        [f"f{n:04d}"] for n in range(CALLS)
    ]
    decisions = sorted(alerts[0]["decision"] for alerts in decided)
    assert decisions == ["announced"] + ["joined"] * (CALLS - 1)
    assert len({alerts[0]["incident_id"] for alerts in decided}) == 1
    async with committed.database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Incident)) == 1
        recorded = await session.scalars(select(Alert.fingerprint).order_by(Alert.fingerprint))
        assert list(recorded) == [f"f{n:04d}" for n in range(CALLS)]
    shown = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    assert [incident["name"] for incident in shown] == ["ETH withdrawals are failing"]


async def test_a_call_that_fails_in_a_batch_loses_nothing_of_the_others(
    committed: Committed,
) -> None:
    client, admin = committed.client, committed.admin
    eth = await component(client, admin, "ETH withdrawals")
    made = await source(client, admin, "events")
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    hook = made["webhook_path"]

    def event_for(n: int) -> dict[str, Any]:
        named = "DOGE deposits" if n % 5 == 2 else "ETH withdrawals"  # no rule sets that one
        return {"component": named, "labels": {"service": "wallet"}, "summary": "slow",
                "dedup_key": f"k{n:02d}"}  # fmt: skip

    answers = await _calls(
        committed, eth, [client.post(hook, json=event_for(n)) for n in range(20)]
    )
    refused = [n for n, answer in enumerate(answers) if answer.status_code == 404]
    assert refused == [2, 7, 12, 17]
    assert answers[2].json()["error"] == {
        "code": "not_found",
        "message": "component 'DOGE deposits': no rule of this source sets it",
        "field": "component",
    }
    taken = [answers[n].json()["alerts"][0] for n in range(20) if n not in refused]
    assert [a["fingerprint"] for a in taken] == [f"k{n:02d}" for n in range(20) if n % 5 != 2]
    assert sorted(a["decision"] for a in taken) == ["announced"] + ["joined"] * 15
    listed = (await client.get(f"{API}/alerts", headers=admin)).json()
    assert sorted(a["fingerprint"] for a in listed) == [a["fingerprint"] for a in taken]
