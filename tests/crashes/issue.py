"""Finance issues an approved batch; the server dies after some vouchers are committed and
before the batch is issued; finance issues it again after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import random

import httpx
from sqlalchemy import func, select

from compensation.issuing import CHUNK
from compensation.models import Batch, BatchLine, BatchState, CreditDelivery, LineNote, Voucher
from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.db import Database
from tests.compensation.helpers import HEADER, Scene, make_scene
from tests.crashes.outbox import API
from tests.crashes.outcome import Outcome
from tests.crashes.server import Condition, at_least, serving, wait_until
from tests.receivers import HttpReceiver

_DONE = {BatchState.issued, BatchState.delivered}


def payable(accounts: int) -> int:
    """Vouchers a batch of `accounts` accounts issues: every tenth paid no fee."""
    return accounts - -(-accounts // 10)


async def crash_during_issue(
    database: Database,
    url: str,
    receiver: HttpReceiver,
    *,
    rng: random.Random,
    accounts: int,
    chunk: int = CHUNK,
) -> Outcome:
    """The kill lands once at least a random number of vouchers, short of the last chunk's,
    is committed and the batch is not issued yet; `accounts` must make two chunks (of `chunk`
    vouchers, the server's ISSUE_CHUNK_VOUCHERS) or more."""
    assert payable(accounts) > chunk, "one chunk: no state between none issued and all"
    async with serving(url, receiver, ISSUE_CHUNK_VOUCHERS=str(chunk)) as app:
        async with httpx.AsyncClient(base_url=app.base, timeout=120) as client:
            scene = await _compensation_scene(client, database)
            batch_id = await _approved_batch(scene, accounts)
            issue = f"{API}/compensation/batches/{batch_id}/issue"
            task = asyncio.create_task(client.post(issue, headers=scene.drafter))
            target = rng.randint(1, (payable(accounts) - 1) // chunk * chunk)
            await app.kill_when(_issued_at_least(database, batch_id, target), 120, every=0.002)
            with contextlib.suppress(httpx.TransportError):
                await task
        outcome = Outcome(crashes=1)
        state, written = await _progress(database, batch_id)
        if state in _DONE or written == 0:  # started and not finished, or it proves less
            outcome.notes.append(f"killed with the batch {state} and {written} vouchers")
        app.start()
        async with httpx.AsyncClient(base_url=app.base, timeout=120) as client:
            again = await client.post(issue, headers=scene.drafter)
            assert again.status_code == 200, again.text
        expected = (await _progress(database, batch_id))[1]
        await wait_until(at_least(lambda: len(set(_credits(receiver))), expected), 120, 0.05)
        await asyncio.sleep(0.3)  # a late repeat, if there is one, arrives
        outcome.add(await _check_vouchers(database, receiver, batch_id))
        return outcome


async def _compensation_scene(client: httpx.AsyncClient, database: Database) -> Scene:
    async def make_token(role: StaffRole, email: str | None = None) -> str:
        async with database.sessionmaker() as session, session.begin():
            staff = await tokens.create_staff(
                session, email=email or f"{role.value}@x.io", name="Someone", role=role,
                actor_id=None,
            )  # fmt: skip
            return (await tokens.create_token(session, staff=staff, name="t", actor_id=None))[1]

    return await make_scene(client, make_token)


async def _approved_batch(scene: Scene, accounts: int) -> int:
    """An approved fee-refund batch over `accounts` accounts; every tenth paid no fee."""
    batch_id = await scene.batch(await scene.policy({"kind": "fee_refund", "percent": "100"}))
    rows = (
        f"acc-{n:06d},USDT,{'0' if n % 10 == 0 else '1.000001'},10,trade,Spot trading,"
        "2026-03-01T02:30:00Z"
        for n in range(accounts)
    )
    uploaded = await scene.upload(batch_id, HEADER + "\n".join(rows))
    assert uploaded.status_code == 200, uploaded.text
    approved = await scene.client.post(
        f"{API}/compensation/batches/{batch_id}/approve", headers=scene.approver
    )
    assert approved.status_code == 200, approved.text
    return batch_id


async def _progress(database: Database, batch_id: int) -> tuple[BatchState | None, int]:
    """The batch's state and how many vouchers it has (read without a write lock, which a
    frozen server may hold on SQLite)."""
    async with database.reading() as session:
        state = await session.scalar(select(Batch.state).where(Batch.id == batch_id))
        written = await session.scalar(select(func.count()).where(Voucher.batch_id == batch_id))
    return state, int(written or 0)


def _issued_at_least(database: Database, batch_id: int, target: int) -> Condition:
    """Holds once `target` vouchers are committed, or the batch is issued (too late)."""

    async def reached() -> bool:
        state, written = await _progress(database, batch_id)
        return written >= target or state in _DONE

    return reached


def _credits(receiver: HttpReceiver) -> list[str]:
    return [item.headers["webhook-id"] for item in receiver.to("/credit")]


async def _check_vouchers(database: Database, receiver: HttpReceiver, batch_id: int) -> Outcome:
    """One voucher per payable line and account, each told to the credit API, once."""
    async with database.sessionmaker() as session:
        state = await session.scalar(select(Batch.state).where(Batch.id == batch_id))
        lines = await session.scalar(
            select(func.count()).where(
                BatchLine.batch_id == batch_id,
                BatchLine.note.in_([LineNote.payable, LineNote.capped]),
            )
        )
        vouchers = (
            await session.execute(
                select(Voucher.id, Voucher.account_id, Voucher.asset).where(
                    Voucher.batch_id == batch_id
                )
            )
        ).all()
        credits = await session.scalar(select(func.count()).select_from(CreditDelivery))
    accounts = [(row.account_id, row.asset) for row in vouchers]
    outcome = Outcome(double_vouchers=len(accounts) - len(set(accounts)))
    if state not in _DONE or len(accounts) != lines or credits != len(accounts):
        outcome.notes.append(
            f"batch {state}: {len(accounts)} vouchers, {lines} payable, {credits} credits"
        )
        outcome.double_vouchers += max(len(accounts) - (lines or 0), 0)
    expected = {f"voucher_{row.id}" for row in vouchers}
    got = _credits(receiver)
    outcome.messages_lost += len(expected - set(got))
    outcome.duplicates += len(set(got) - expected)
    outcome.redeliveries += len(got) - len(set(got))
    return outcome
