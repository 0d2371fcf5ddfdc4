"""Group commit: jobs queued together commit in one transaction, a job's error undoes only
its own writes and is raised to its caller alone, `after_commit` runs once a batch before
anyone is answered (its failure is every caller's), and closing waits for what is queued."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common.errors import NotFound
from incidents.models import Component
from statuspage.db import Database
from statuspage.group_commit import GroupCommit


def _adding(name: str, *, fails: bool = False) -> Callable[[AsyncSession], Awaitable[str]]:
    async def job(session: AsyncSession) -> str:
        session.add(Component(name=name))
        await session.flush()
        if fails:
            raise NotFound(f"component {name!r} is refused", field="name")
        return name

    return job


async def _names(database: Database) -> list[str]:
    async with database.sessionmaker() as session:
        found = await session.scalars(select(Component.name).order_by(Component.name))
        return list(found)


async def test_a_failing_job_undoes_only_its_own_writes(database: Database) -> None:
    commits: list[list[str]] = []

    async def after_commit() -> None:
        commits.append(await _names(database))  # what a reader sees when the callers hear

    group = GroupCommit(database, after_commit)
    outcomes = await asyncio.gather(
        group.run(_adding("BTC deposits")),
        group.run(_adding("DOGE deposits", fails=True)),
        group.run(_adding("ETH deposits")),
        return_exceptions=True,
    )
    assert outcomes[0] == "BTC deposits"
    assert outcomes[2] == "ETH deposits"
    assert isinstance(outcomes[1], NotFound)
    assert str(outcomes[1].message) == "component 'DOGE deposits' is refused"
    assert commits == [["BTC deposits", "ETH deposits"]]  # one batch, one commit
    assert await _names(database) == ["BTC deposits", "ETH deposits"]


async def test_a_batch_holds_at_most_its_limit_and_the_rest_follow(database: Database) -> None:
    commits = 0

    async def after_commit() -> None:
        nonlocal commits
        commits += 1

    group = GroupCommit(database, after_commit, most=4)
    done = await asyncio.gather(*(group.run(_adding(f"C{n}")) for n in range(10)))
    assert done == [f"C{n}" for n in range(10)]
    assert commits == 3  # 4 + 4 + 2


async def test_closing_waits_for_the_jobs_queued(database: Database) -> None:
    async def after_commit() -> None:
        await asyncio.sleep(0.2)  # the page renders

    group = GroupCommit(database, after_commit)
    calls = [asyncio.create_task(group.run(_adding(f"C{n}"))) for n in range(5)]
    await asyncio.sleep(0)
    await group.close()
    assert all(call.done() for call in calls)
    assert [call.result() for call in calls] == [f"C{n}" for n in range(5)]


async def test_what_fails_after_the_commit_is_raised_to_every_caller_of_the_batch(
    database: Database,
) -> None:
    async def after_commit() -> None:
        raise RuntimeError("the page could not be rendered")

    group = GroupCommit(database, after_commit)
    outcomes = await asyncio.gather(
        *(group.run(_adding(f"C{n}")) for n in range(3)),
        return_exceptions=True,
    )
    assert [str(outcome) for outcome in outcomes] == ["the page could not be rendered"] * 3
    with pytest.raises(RuntimeError, match="rendered"):
        await group.run(_adding("C9"))


async def test_a_batch_cancelled_mid_way_leaves_no_caller_waiting_behind_it(
    database: Database,
) -> None:
    """The app stopping mid-batch (the batch's task cancelled) answers its callers and those
    queued behind it, rather than leaving them to wait for a batch that never comes."""

    async def after_commit() -> None:
        return None

    started = asyncio.Event()

    async def waits(session: AsyncSession) -> str:
        started.set()
        await asyncio.Event().wait()  # never: the batch is stopped while it waits
        return "never"

    group = GroupCommit(database, after_commit, most=1)
    calls = [
        asyncio.ensure_future(call)
        for call in (
            group.run(waits),
            group.run(_adding("BTC deposits")),
            group.run(_adding("SOL")),
        )
    ]
    await asyncio.wait_for(started.wait(), 5)
    draining = group._draining  # the batch's own task, as the app's shutdown cancels it
    assert draining is not None
    draining.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes), outcomes
    await asyncio.wait_for(group.close(), 5)  # the stopped batch raises nothing into shutdown
    assert await group.run(_adding("ETH deposits")) == "ETH deposits"  # a new batch serves
    assert await _names(database) == ["ETH deposits"]


async def test_a_job_cancelled_on_its_own_fails_alone(database: Database) -> None:
    """A job whose own work was cancelled (not the batch) is that caller's error; the batch
    and its other callers go on."""

    async def after_commit() -> None:
        return None

    async def cancelled(session: AsyncSession) -> str:
        raise asyncio.CancelledError

    group = GroupCommit(database, after_commit)
    outcomes = await asyncio.gather(
        group.run(_adding("BTC deposits")),
        group.run(cancelled),
        group.run(_adding("ETH deposits")),
        return_exceptions=True,
    )
    assert outcomes[0] == "BTC deposits" and outcomes[2] == "ETH deposits"
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert await _names(database) == ["BTC deposits", "ETH deposits"]
