"""A signed source's call delivered again under the same `webhook-id` (a sender's retry, or a
replay of a captured call within the timestamp's five minutes) is answered as the first was
and acts on nothing again, however many copies arrive at once; the ids are forgotten when no
replay of them could pass the timestamp check any more."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from standardwebhooks import Webhook

from incidents.detection import replays
from incidents.detection.models import Alert, WebhookId
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation
from tests.conftest import Fresh
from tests.statuspage.api.alert_senders import component, component_status, rule, source
from tests.statuspage.api.conftest import Committed

REPLAYS = 20


def _signed(secret: str, body: bytes, msg_id: str) -> dict[str, str]:
    at = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


async def _signed_source(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[int, Any]:
    eth = await component(client, admin, "ETH withdrawals")
    made = await source(client, admin, "events", signed=True)
    await rule(client, admin, eth, source_id=made["id"], matchers={"service": "wallet"})
    return eth, made


def _event(**fields: Any) -> bytes:
    sent = {"component": "ETH withdrawals", "labels": {"service": "wallet"},
            "summary": "ETH withdrawals time out", "dedup_key": "eth-1", **fields}  # fmt: skip
    return json.dumps(sent).encode()


async def test_a_second_delivery_of_an_id_gets_the_first_answer_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    eth, made = await _signed_source(client, admin)
    hook, key = made["webhook_path"], made["signing_secret"]
    firing = _event()
    first = await client.post(hook, content=firing, headers=_signed(key, firing, "msg_fire"))
    assert first.status_code == 200, first.text
    [decided] = first.json()["alerts"]
    assert decided["decision"] == "announced"
    resolving = _event(resolve=True)
    over = await client.post(hook, content=resolving, headers=_signed(key, resolving, "msg_over"))
    assert over.json()["alerts"][0]["decision"] == "monitoring"
    assert await component_status(client, eth) == "operational"

    # the firing call again, signed anew as a sender's retry is: answered as it was, and the
    # component stays recovered
    again = await client.post(hook, content=firing, headers=_signed(key, firing, "msg_fire"))
    assert again.status_code == 200
    assert again.json() == {"alerts": [decided], "duplicate": True}
    assert await component_status(client, eth) == "operational"
    # a new id with the same body is a new call, acted on (the incident is still open)
    anew = await client.post(hook, content=firing, headers=_signed(key, firing, "msg_fire_2"))
    assert anew.json()["alerts"][0]["decision"] == "already_open"
    assert "duplicate" not in anew.json()


async def test_an_id_refused_is_not_kept_and_may_be_delivered_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, made = await _signed_source(client, admin)
    hook, key = made["webhook_path"], made["signing_secret"]
    nowhere = _event(component="DOGE deposits")
    refused = await client.post(hook, content=nowhere, headers=_signed(key, nowhere, "msg_1"))
    assert refused.status_code == 404
    # the sender fixes its component name and retries under the same id: acted on
    fixed = _event()
    retried = await client.post(hook, content=fixed, headers=_signed(key, fixed, "msg_1"))
    assert retried.json()["alerts"][0]["decision"] == "announced"


async def test_twenty_copies_of_one_call_at_once_act_once(committed: Committed) -> None:
    _, made = await _signed_source(committed.client, committed.admin)
    hook, key = made["webhook_path"], made["signing_secret"]
    body = _event()
    headers = _signed(key, body, "msg_storm")
    answers = await asyncio.gather(
        *(committed.client.post(hook, content=body, headers=headers) for _ in range(REPLAYS))
    )
    assert [answer.status_code for answer in answers] == [200] * REPLAYS
    firsts = [answer.json() for answer in answers if "duplicate" not in answer.json()]
    assert len(firsts) == 1
    assert firsts[0]["alerts"][0]["decision"] == "announced"
    assert [answer.json() for answer in answers].count({**firsts[0], "duplicate": True}) == (
        REPLAYS - 1
    )
    async with committed.database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 1


async def test_concurrent_transactions_claiming_one_id_let_one_through(fresh: Fresh) -> None:
    """The database decides, not a read before the write: twenty transactions at once."""
    source_id = await _a_source(fresh.database)
    now = datetime.now(UTC)

    async def claim() -> dict[str, Any] | None:
        async with fresh.database.sessionmaker() as session, session.begin():
            found = await replays.claim(
                session, source_id=source_id, webhook_id="msg_race", now=now
            )
            await asyncio.sleep(0.05)  # the first holds its claim a while before it commits
            return found

    claims = await asyncio.gather(*(claim() for _ in range(REPLAYS)))
    assert claims.count(None) == 1
    assert claims.count({}) == REPLAYS - 1


async def _a_source(database: Database) -> int:
    from incidents.detection.schemas import SourceIn
    from statuspage.access.alert_sources import create_source

    async with database.sessionmaker() as session, session.begin():
        made, _ = await create_source(
            session, data=SourceIn(name="signed", kind="events", signed=True), actor_id=None
        )
    return made.id


async def test_the_scheduler_forgets_ids_no_replay_could_pass_with(database: Database) -> None:
    source_id = await _a_source(database)
    at = datetime.now(UTC)
    async with database.sessionmaker() as session, session.begin():
        assert await replays.claim(session, source_id=source_id, webhook_id="m1", now=at) is None
    settings = Settings(database_url="sqlite:///unused.db")
    await automation.run_due(database, settings, now=at + timedelta(minutes=9, seconds=59))
    async with database.sessionmaker() as session, session.begin():
        assert await replays.claim(session, source_id=source_id, webhook_id="m1", now=at) == {}
    await automation.run_due(database, settings, now=at + timedelta(minutes=10, seconds=1))
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookId)) == 0
