"""`statuspage worker`: delivers broadcasts (and vouchers to the credit API) and runs the
scheduler, without serving HTTP.

It is also `serve`'s delivery child (statuspage/workers/process.py), which lives as long as
`serve` does: it imports the delivery worker and what that renders and sends, not the web app,
the console or the export, and the credit worker and the scheduler only when it runs them.
Nor does it migrate: `serve` did before starting it, and alembic would stay loaded (~10 MB).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

from statuspage.config import Settings
from statuspage.db import Database, connect, migrate
from statuspage.wake import Bell
from statuspage.workers.delivery import DeliveryWorker
from statuspage.workers.loop import doorbell_for
from statuspage.workers.process import PARENT_ENV

if TYPE_CHECKING:
    from statuspage.workers.credit import CreditWorker
    from statuspage.workers.scheduler import Scheduler


def work(settings: Settings, *, once: bool) -> int:
    served = os.environ.get(PARENT_ENV)  # set when this is serve's child: serve's process id
    parent = int(served) if served else None

    async def run() -> None:
        database = connect(settings.database_url)
        try:
            if parent is None:  # as serve's child, serve has migrated
                await migrate(database)
            await _work(database, settings, once=once, parent=parent)
        finally:
            await database.dispose()

    asyncio.run(run())
    return 0


async def _work(database: Database, settings: Settings, *, once: bool, parent: int | None) -> None:
    worker = DeliveryWorker(database, settings)
    credit = _credit_worker(database, settings) if settings.credit_api_url else None
    if once:
        try:
            sent = await worker.drain()
            credited = await credit.drain() if credit is not None else 0
        finally:
            await worker.close()
            if credit is not None:
                await credit.close()
        print(f"worker: {sent} deliveries handled, {credited} vouchers sent to the credit API")
        return
    scheduler = _scheduler(database, settings) if settings.run_scheduler else None
    doorbell = doorbell_for(database, settings, [worker, *([credit] if credit else [])])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    orphaned = asyncio.create_task(_parent_gone(parent, stop)) if parent is not None else None
    await doorbell.start()
    await worker.start()
    if credit is not None:
        await credit.start()
    if scheduler is not None:
        await scheduler.start()
    print(f"worker {worker.name}: delivering" + (", scheduler standing by" if scheduler else ""))
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if orphaned is not None:
            orphaned.cancel()
        if scheduler is not None:
            await scheduler.close()
        if credit is not None:
            await credit.close()
        await worker.close()
        await doorbell.close()


def _credit_worker(database: Database, settings: Settings) -> CreditWorker:
    from statuspage.workers.credit import CreditWorker

    return CreditWorker(database, settings)


def _scheduler(database: Database, settings: Settings) -> Scheduler:
    from statuspage.workers.scheduler import Scheduler

    return Scheduler(database, settings, on_change=Bell(database).ring)


async def _parent_gone(parent: int, stop: asyncio.Event) -> None:
    """As `serve`'s child: stops the worker when `serve` is gone (killed on its own), so
    no orphan goes on delivering beside the next `serve`'s child."""
    while os.getppid() == parent:  # noqa: ASYNC110 - a process's parent sends no event
        await asyncio.sleep(1)
    stop.set()
