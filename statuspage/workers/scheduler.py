"""The scheduler: APScheduler's AsyncIOScheduler with its jobs in our database, run by exactly
one instance at a time.

Leadership is a lock the database keeps: a PostgreSQL advisory lock held on its own connection
(released by the server if the process dies), or on SQLite, where every instance is on one
machine, an exclusive file lock beside the database file. The others stand by and retry.

Two jobs: `sweep` every SCHEDULER_SWEEP_SECONDS, and `wake` at the next moment something is due,
so posts and maintenance go out on time. Both run `automation.run_due`, which works out from the
database what is due, so a job that runs late or twice changes nothing (misfires coalesce).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from incidents.common.db_types import utcnow
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers import automation

log = logging.getLogger(__name__)

# The advisory lock's key: any 64-bit number no other application on the database uses.
LEADER_LOCK = 0x5354_4154_5553  # "STATUS"
_RETRY_LEADERSHIP = 5.0
_AGAIN_AFTER = timedelta(seconds=1)  # from a sweep's end to the next one a poke asks for

_running: Scheduler | None = None


async def sweep_job() -> None:
    """The jobs' target, by reference (`statuspage.workers.scheduler:sweep_job`), so it pickles."""
    if _running is not None:
        await _running.sweep()


class Scheduler:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.on_change = on_change
        self.leading = asyncio.Event()
        self._apscheduler: AsyncIOScheduler | None = None
        self._sync_engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock_connection: AsyncConnection | None = None
        self._lock_file: IO[bytes] | None = None
        self._sweeps: set[asyncio.Task[object]] = set()
        self._again = False  # poked while a sweep ran: another follows it, a second after
        self._swept = datetime.min.replace(tzinfo=UTC)  # when the last sweep ended

    async def start(self) -> None:
        self._task = asyncio.create_task(self._lead(), name="scheduler leadership")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._step_down()

    def poke(self) -> None:
        """Something changed here: work out the next wake-up now. While a sweep runs, a
        wake-up job would be skipped (one instance at a time), and the change it was for
        missed until the next sweep: one more sweep follows it instead, a second after it
        ends, for any number of pokes (a storm of writes pokes once a write). So does a poke
        within a second of a sweep's end: sweeps come at most once a second, and no sweep
        runs on for as long as the writes keep coming."""
        if self._sweeps:
            self._again = True
        else:
            self._wake(at=max(datetime.now(UTC), self._swept + _AGAIN_AFTER))

    def _wake(self, *, at: datetime) -> None:
        if self._apscheduler is not None and self.leading.is_set():
            self._apscheduler.add_job(sweep_job, DateTrigger(at), id="wake", replace_existing=True)

    # -- leadership ------------------------------------------------------------------------

    async def _lead(self) -> None:
        while True:
            if not self.leading.is_set() and await self._acquire():
                self._begin()
            elif self.leading.is_set() and not await self._still_held():
                log.warning("scheduler: lost the leader lock; standing by")
                await self._step_down()
            await asyncio.sleep(_RETRY_LEADERSHIP)

    async def _acquire(self) -> bool:
        if self.database.dialect == "postgresql":
            connection = await self.database.engine.connect()
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}
            )
            await connection.commit()
            if got:
                self._lock_connection = connection
                return True
            await connection.close()
            return False
        path = _lock_path(self.settings.database_url)
        if path is None:
            return True  # an in-memory database has one process by definition
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    async def _still_held(self) -> bool:
        if self._lock_connection is None:
            return True
        try:
            await self._lock_connection.scalar(text("SELECT 1"))
            await self._lock_connection.commit()
        except Exception:  # the connection (and with it the lock) is gone
            return False
        return True

    def _begin(self) -> None:
        global _running
        _running = self
        self._sync_engine = job_store_engine(self.settings.database_url)
        scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._sync_engine)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        scheduler.start()
        scheduler.add_job(
            sweep_job,
            IntervalTrigger(seconds=self.settings.scheduler_sweep_seconds, timezone=UTC),
            id="sweep",
            replace_existing=True,
        )
        self._apscheduler = scheduler
        self.leading.set()
        self.poke()
        log.info("scheduler: leading")

    async def _step_down(self) -> None:
        global _running
        self.leading.clear()
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        # APScheduler does not wait for a coroutine job; one still running would go on using
        # the database after its owner closed it. Stop it here, while the database is open.
        running = [task for task in self._sweeps if task is not asyncio.current_task()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None
        if self._lock_connection is not None:
            # Closing only hands the connection back to the pool, lock and all: unlock first,
            # and should that fail, make sure the connection itself goes.
            with contextlib.suppress(Exception):
                await self._lock_connection.execute(text("SELECT pg_advisory_unlock_all()"))
                await self._lock_connection.commit()
            with contextlib.suppress(Exception):
                await self._lock_connection.invalidate()
            with contextlib.suppress(Exception):
                await self._lock_connection.close()
            self._lock_connection = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        if _running is self:
            _running = None

    # -- the work --------------------------------------------------------------------------

    async def sweep(self) -> list[str]:
        task = asyncio.current_task()
        if task is not None:
            self._sweeps.add(task)
        try:
            done = await self._sweep()
            self._swept = datetime.now(UTC)
            if self._again:  # poked meanwhile: once more, a second after this one ended
                self._again = False
                self._wake(at=self._swept + _AGAIN_AFTER)
            return done
        except asyncio.CancelledError:
            if self.leading.is_set():
                raise
            # Stepping down (the app stops) cancels a sweep under way, on purpose: what it
            # had not done is due still and the next leader's sweep does it.
            log.info("scheduler: a sweep under way stopped as this instance stepped down")
            return []
        finally:
            self._sweeps.discard(task)

    async def _sweep(self) -> list[str]:
        now = self.clock()
        done = await automation.run_due(self.database, self.settings, now=now)
        if done and self.on_change is not None:
            await self.on_change()
        upcoming = await automation.next_due(self.database, self.settings, now=now)
        if upcoming is not None and self._apscheduler is not None and upcoming > now:
            self._apscheduler.add_job(
                sweep_job, DateTrigger(upcoming), id="wake", replace_existing=True
            )
        return done


def job_store_engine(database_url: str) -> Engine:
    """A synchronous engine for APScheduler's job store.

    On PostgreSQL it is the same database. On SQLite it is a file beside the database: the
    job store's calls block the event loop, and if they waited for the main file's write lock
    while a transaction of this same process held it (and needed the loop to finish), both
    would wait out the busy timeout. Only the leader touches this file, so nothing waits.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return create_engine(url.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    database = url.database
    if database and database != ":memory:":
        url = url.set(database=f"{Path(database).expanduser()}.scheduler.db")
    engine = create_engine(url.set(drivername="sqlite"))
    event.listen(engine, "connect", _sqlite_wait)
    return engine


def _sqlite_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _lock_path(database_url: str) -> Path | None:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    return Path(f"{Path(database).expanduser()}.scheduler-lock")
