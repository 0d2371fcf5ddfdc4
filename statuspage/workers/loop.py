"""The loop the outbox workers share: run a round until nothing is due, then wait for a
wake-up (a `statuspage.wake.Bell` rung anywhere on the database) or the next safety poll;
start, stop, wake and drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Sequence

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.wake import Doorbell

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Unique per process and instance: the lease owner written on claimed rows."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def doorbell_for(database: Database, settings: Settings, loops: Sequence[WorkerLoop]) -> Doorbell:
    """What wakes these loops of one process whenever a write anywhere rings the bell."""

    def ring() -> None:
        for loop in loops:
            loop.wake()

    return Doorbell(database, ring, retry_seconds=settings.worker_poll_seconds)


class WorkerLoop:
    """A background task calling `run_once` (how many rows it handled) over and over."""

    kind = "worker"  # for the task's name and the log

    def __init__(self, *, name: str | None, poll_seconds: float) -> None:
        self.name = name or worker_name()
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"{self.kind} {self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Something was written: look for due rows now rather than at the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()  # before looking: a wake-up that comes during the look is kept
            try:
                handled = await self.run_once()
            except Exception:  # a database hiccup must not end the work for good
                log.exception("%s %s: a round failed; retrying", self.kind, self.name)
                handled = 0
                await asyncio.sleep(1)
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def drain(self, *, limit: int = 1000) -> int:
        """Runs rounds until nothing is due (for tests and the CLI's one-shot mode)."""
        total = 0
        for _ in range(limit):
            handled = await self.run_once()
            if handled == 0:
                break
            total += handled
        return total
