"""Issuing for real, in other processes: one killed with SIGKILL mid-issue leaves a batch that
resumes to exactly one voucher per account; two issuing at once issue nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from compensation import issuing
from compensation.models import Batch, BatchState, CreditDelivery, Voucher
from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.app import create_app
from statuspage.config import Settings
from tests.compensation.helpers import HEADER, Scene, make_scene
from tests.conftest import Fresh

pytestmark = pytest.mark.processes

ACCOUNTS = 3000
CHUNK = 500
CHILD = """
import asyncio, sys
from compensation import issuing
from statuspage.db import connect

async def main(url, batch_id, actor_id, chunk):
    database = connect(url)
    async def hook(written):
        print(f"chunk {written}", flush=True)
        await asyncio.sleep(0)
    batch = await issuing.issue(database.sessionmaker, batch_id=int(batch_id),
                                actor_id=int(actor_id), credit=True, after_chunk=hook,
                                chunk=int(chunk))
    print(f"done {batch.state.value}", flush=True)
    await database.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
async def scene(fresh: Fresh) -> AsyncIterator[Scene]:
    app = create_app(
        Settings(
            database_url=fresh.url, cache_poll_seconds=0, run_worker=False, run_scheduler=False
        ),
        database=fresh.database,
    )

    async def make_token(role: StaffRole, email: str | None = None) -> str:
        async with fresh.database.sessionmaker() as session, session.begin():
            staff = await tokens.create_staff(
                session,
                email=email or f"{role.value}@x.io",
                name="Someone",
                role=role,
                actor_id=None,
            )
            return (await tokens.create_token(session, staff=staff, name="t", actor_id=None))[1]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield await make_scene(client, make_token)
    await app.running.cache.close()


async def approved_batch(scene: Scene) -> int:
    batch_id = await scene.batch(await scene.policy({"kind": "fee_refund", "percent": "100"}))
    rows = (
        f"acc-{n:05d},USDT,1.000001,10,trade,Spot trading,2026-03-01T02:30:00Z"
        for n in range(ACCOUNTS)
    )
    assert (await scene.upload(batch_id, HEADER + "\n".join(rows))).status_code == 200
    approved = await scene.client.post(
        f"/api/staff/compensation/batches/{batch_id}/approve", headers=scene.approver
    )
    assert approved.status_code == 200, approved.text
    return batch_id


def child(fresh: Fresh, batch_id: int) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own code
        [sys.executable, "-c", CHILD, fresh.url, str(batch_id), "2", str(CHUNK)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


async def counts(fresh: Fresh, batch_id: int) -> tuple[BatchState, int, int, int, Decimal]:
    async with fresh.database.sessionmaker() as session:
        state = await session.scalar(select(Batch.state).where(Batch.id == batch_id))
        vouchers = await session.scalar(select(func.count()).where(Voucher.batch_id == batch_id))
        accounts = await session.scalar(
            select(func.count(func.distinct(Voucher.account_id))).where(
                Voucher.batch_id == batch_id
            )
        )
        credits = await session.scalar(select(func.count()).select_from(CreditDelivery))
        amounts = (await session.scalars(select(Voucher.amount))).all()
    assert state is not None
    return state, vouchers or 0, accounts or 0, credits or 0, sum(amounts, Decimal(0))


async def test_a_process_killed_mid_issue_leaves_a_batch_that_resumes_exactly(
    scene: Scene, fresh: Fresh
) -> None:
    batch_id = await approved_batch(scene)
    with child(fresh, batch_id) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"chunk {CHUNK}"
        process.send_signal(signal.SIGKILL)  # while it writes the second chunk
        process.wait()
    state, vouchers, accounts, credits, _ = await counts(fresh, batch_id)
    assert state == BatchState.issuing  # the record says an issue is under way
    assert CHUNK <= vouchers < ACCOUNTS
    assert accounts == vouchers
    assert vouchers % CHUNK == 0  # a chunk is written whole or not at all
    assert credits == vouchers  # every voucher written has its outbox row
    resumed = await issuing.issue(
        fresh.database.sessionmaker, batch_id=batch_id, actor_id=2, credit=True
    )
    assert resumed.state == BatchState.issued
    assert await counts(fresh, batch_id) == (
        BatchState.issued,
        ACCOUNTS,
        ACCOUNTS,
        ACCOUNTS,
        Decimal("3000.003000"),
    )


async def test_two_processes_issuing_one_batch_issue_each_voucher_once(
    scene: Scene, fresh: Fresh
) -> None:
    batch_id = await approved_batch(scene)
    with child(fresh, batch_id) as first, child(fresh, batch_id) as second:
        outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0]
    assert [output.splitlines()[-1] for output in outputs] == ["done issued", "done issued"]
    assert await counts(fresh, batch_id) == (
        BatchState.issued,
        ACCOUNTS,
        ACCOUNTS,
        ACCOUNTS,
        Decimal("3000.003000"),
    )
