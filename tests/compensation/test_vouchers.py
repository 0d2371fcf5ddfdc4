"""Vouchers after issue: redemption by the platform, voiding, and crediting through the
platform's credit API (a real local receiver, signatures checked with `standardwebhooks`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from compensation import redemption
from compensation.errors import RedemptionRefused
from incidents.common.db_types import utcnow
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.credit import CreditWorker
from tests.compensation.helpers import COMP, Scene, issued, make_scene
from tests.receivers import HttpReceiver, Reply, running_http

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtY3JlZGl0LWFwaQ=="


@pytest.fixture
def credit_receiver() -> Iterator[HttpReceiver]:
    yield from running_http()


@pytest.fixture
def settings(credit_receiver: HttpReceiver) -> Settings:
    return Settings(
        database_url="sqlite:///unused-in-tests.db",
        cache_poll_seconds=0,
        run_worker=False,
        run_scheduler=False,
        credit_api_url=credit_receiver.url("/credits"),
        credit_api_secret=SECRET,
        delivery_timeout_seconds=2.0,
    )


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


async def redeem(scene: Scene, code: str, account: str, reference: str) -> httpx.Response:
    return await scene.client.post(
        f"{COMP}/vouchers/redeem",
        json={"code": code, "account_id": account, "reference": reference},
        headers=scene.drafter,
    )


async def test_a_voucher_is_redeemed_once_and_a_retry_gets_the_same_answer(scene: Scene) -> None:
    _, vouchers = await issued(scene)
    code = vouchers["acc-2"]["code"]
    typed = code.lower().replace("-", " ")  # as a person might type it
    first = await redeem(scene, typed, "acc-2", "credit-77")
    assert first.status_code == 200, first.text
    assert (first.json()["state"], first.json()["amount"]) == ("redeemed", "3.5")
    retry = await redeem(scene, code, "acc-2", "credit-77")
    assert retry.json() == first.json()
    other = await redeem(scene, code, "acc-2", "credit-78")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "already_redeemed"
    wrong = await redeem(scene, vouchers["acc-1"]["code"], "acc-2", "credit-79")
    assert wrong.json()["error"] == {
        "code": "wrong_account",
        "message": "this voucher belongs to another account",
        "field": "account_id",
    }
    log = await scene.client.get(
        "/api/staff/audit", params={"action": "compensation.voucher.redeem"}, headers=scene.admin
    )
    assert [entry["after"]["reference"] for entry in log.json()] == ["credit-77"]


async def test_a_mistyped_code_is_caught_by_its_check_character(scene: Scene) -> None:
    _, vouchers = await issued(scene)
    code = vouchers["acc-1"]["code"]
    swapped = code[:1] + ("1" if code[1] != "1" else "2") + code[2:]
    response = await redeem(scene, swapped, "acc-1", "credit-1")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "code"


async def test_voided_and_expired_vouchers_are_refused(scene: Scene, database: Database) -> None:
    _, vouchers = await issued(scene)
    voided = await scene.client.post(
        f"{COMP}/vouchers/void",
        json={"code": vouchers["acc-1"]["code"], "reason": "duplicate account"},
        headers=scene.approver,
    )
    assert voided.json()["void_reason"] == "duplicate account"
    refused = await redeem(scene, vouchers["acc-1"]["code"], "acc-1", "credit-1")
    assert refused.json()["error"]["code"] == "voided"
    again = await scene.client.post(
        f"{COMP}/vouchers/void",
        json={"code": vouchers["acc-1"]["code"], "reason": "twice"},
        headers=scene.approver,
    )
    assert again.status_code == 409
    later = utcnow() + timedelta(days=31)
    async with database.sessionmaker() as session, session.begin():
        with pytest.raises(RedemptionRefused, match="expired") as caught:
            await redemption.redeem(
                session,
                code=vouchers["acc-2"]["code"],
                account_id="acc-2",
                reference="late",
                actor_id=1,
                now=later,
            )
    assert caught.value.code == "expired"


async def test_the_credit_api_hears_of_each_voucher_signed_and_idempotent(
    scene: Scene, database: Database, settings: Settings, credit_receiver: HttpReceiver
) -> None:
    batch_id, vouchers = await issued(scene)
    credit_receiver.script = [Reply(status=503)]  # the first post fails, then all succeed
    now = [utcnow()]
    worker = CreditWorker(database, settings, clock=lambda: now[0])
    try:
        assert await worker.drain() == 3
        assert await worker.drain() == 0  # the failed one waits for its backoff
        now[0] += timedelta(minutes=2)
        assert await worker.drain() == 1
    finally:
        await worker.close()
    posts = credit_receiver.to("/credits")
    assert len(posts) == 4
    assert posts[0].headers["webhook-id"] == posts[3].headers["webhook-id"]  # same message
    assert posts[0].headers["idempotency-key"] == posts[3].headers["idempotency-key"]
    seen = {}
    for post in posts[1:]:
        Webhook(SECRET).verify(post.body, post.headers)  # raises unless the signature holds
        data = json.loads(post.body)["data"]
        seen[data["account_id"]] = (data["asset"], data["amount"], data["code"])
        assert post.headers["idempotency-key"] == data["code"].replace("-", "")
    assert seen == {
        "acc-1": ("BTC", "0.00012345", vouchers["acc-1"]["code"]),
        "acc-2": ("USDT", "3.5", vouchers["acc-2"]["code"]),
        "acc-3": ("ETH", "0.000000000000000007", vouchers["acc-3"]["code"]),
    }
    batch = await scene.client.get(f"{COMP}/batches/{batch_id}", headers=scene.drafter)
    assert batch.json()["state"] == "delivered"
    states = {v["account_id"]: v["state"] for v in await scene.vouchers(batch_id)}
    assert states == {"acc-1": "delivered", "acc-2": "delivered", "acc-3": "delivered"}


async def test_a_voucher_voided_before_crediting_is_never_sent(
    scene: Scene, database: Database, settings: Settings, credit_receiver: HttpReceiver
) -> None:
    batch_id, vouchers = await issued(scene)
    await scene.client.post(
        f"{COMP}/vouchers/void",
        json={"code": vouchers["acc-3"]["code"], "reason": "sanctioned account"},
        headers=scene.approver,
    )
    worker = CreditWorker(database, dataclasses.replace(settings))
    try:
        assert await worker.drain() == 2
    finally:
        await worker.close()
    sent = {json.loads(post.body)["data"]["account_id"] for post in credit_receiver.received}
    assert sent == {"acc-1", "acc-2"}
    batch = await scene.client.get(f"{COMP}/batches/{batch_id}", headers=scene.drafter)
    assert batch.json()["state"] == "delivered"


async def test_the_worker_delivers_a_fully_credited_batch_audited_as_the_system(
    scene: Scene, database: Database, settings: Settings, credit_receiver: HttpReceiver
) -> None:
    batch_id, _ = await issued(scene)
    worker = CreditWorker(database, settings)
    try:
        assert await worker.drain() == 3
    finally:
        await worker.close()
    assert len(credit_receiver.to("/credits")) == 3
    batch = await scene.client.get(f"{COMP}/batches/{batch_id}", headers=scene.drafter)
    assert batch.json()["state"] == "delivered"
    log = await scene.client.get(
        "/api/staff/audit", params={"entity_type": "compensation_batch"}, headers=scene.admin
    )
    newest = log.json()[0]
    assert [entry["action"] for entry in reversed(log.json())][-3:] == [
        "compensation.batch.issue_started",
        "compensation.batch.issue",
        "compensation.batch.deliver",
    ]
    assert (newest["actor_id"], newest["entity_id"]) == (None, batch_id)
    assert (newest["before"], newest["after"]) == (
        {"state": "issued"},
        {"state": "delivered", "vouchers": 3},
    )
