"""Group commit: the small writes of many concurrent requests (monitoring's alert hooks) run
in one write transaction, each under a savepoint of its own, instead of each taking the write
lock (SQLite's, a component's row lock) in turn. A request's error rolls back its savepoint
only; the others commit, and each request hears its own result after the commit.

No loop runs while nothing is queued: the first request to find the queue idle starts a task
that takes everything queued, runs it, commits, and goes on while more has come meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from statuspage.db import Database

_T = TypeVar("_T")
Job = Callable[[AsyncSession], Awaitable[_T]]
AfterCommit = Callable[[], Awaitable[None]]

# A batch's transaction holds the write lock while its jobs run: past this many, the rest wait
# for the next one, so that a staff member's write waits at most one such batch.
MOST_JOBS_A_BATCH = 200


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Waiting:
    job: Job[Any]
    answer: asyncio.Future[Any] = field(default_factory=_future)


@dataclass
class _Outcome:
    waiting: _Waiting
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """One per app: `run(job)` returns the job's result once its batch committed and
    `after_commit` ran (so the page the caller reads next shows it), or raises its error."""

    def __init__(
        self, database: Database, after_commit: AfterCommit, *, most: int = MOST_JOBS_A_BATCH
    ) -> None:
        self._database = database
        self._after_commit = after_commit
        self._most = most
        self._queue: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def run(self, job: Job[_T]) -> _T:
        waiting = _Waiting(job)
        self._queue.append(waiting)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        result: _T = await waiting.answer
        return result

    async def close(self) -> None:
        """Waits for the batch under way and what is queued behind it (the app stops)."""
        if self._draining is not None:
            with contextlib.suppress(asyncio.CancelledError):  # its callers heard so
                await self._draining

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._most], self._queue[self._most :]
                await self._one_batch([waiting for waiting in batch if not waiting.answer.done()])
        except asyncio.CancelledError:  # nobody queued behind a stopped batch waits forever
            queued, self._queue = self._queue, []
            for waiting in queued:
                waiting.answer.cancel()
            raise

    async def _one_batch(self, batch: list[_Waiting]) -> None:
        if not batch:
            return
        try:
            outcomes = await self._database.write(lambda session: _jobs(session, batch))
            await self._after_commit()
        except asyncio.CancelledError:  # the app stops mid-batch: its requests hear so
            for waiting in batch:
                waiting.answer.cancel()
            raise
        except Exception as error:  # answered to every request of the batch
            outcomes = [_Outcome(waiting, error=error) for waiting in batch]
        for outcome in outcomes:
            answer = outcome.waiting.answer
            if answer.done():  # its request went away (the client hung up)
                continue
            if outcome.error is not None:
                answer.set_exception(outcome.error)
            else:
                answer.set_result(outcome.result)


async def _jobs(session: AsyncSession, batch: list[_Waiting]) -> list[_Outcome]:
    await session.connection()  # the write lock (SQLite's BEGIN IMMEDIATE) once, for all
    outcomes = []
    task = asyncio.current_task()
    for waiting in batch:
        try:
            async with session.begin_nested():
                outcomes.append(_Outcome(waiting, result=await waiting.job(session)))
        except asyncio.CancelledError as error:
            if task is not None and task.cancelling():
                raise  # the batch itself is cancelled (the app stops)
            outcomes.append(_Outcome(waiting, error=error))  # one job's, not the batch's
        except Exception as error:  # this request's own, answered to it
            outcomes.append(_Outcome(waiting, error=error))
    return outcomes
