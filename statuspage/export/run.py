"""Running the static export: once from the command line, or after every public change."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.export.folder import write_site
from statuspage.export.snapshot import Snapshot, snapshot
from statuspage.public.cache import PublicCache
from statuspage.site import Site

__all__ = ["ContinuousExport", "export_once"]

log = logging.getLogger(__name__)

# Pages that show "today" (uptime bars, upcoming maintenance) roll over without a change.
REFRESH_SECONDS = 300.0
_RETRY_SECONDS = 1.0
_LOCK = ".export.lock"
# Rows carry the writing instance's clock: look a little further back than the last export.
_CLOCK_SLACK = timedelta(seconds=5)


async def export_once(database: Database, settings: Settings, target: str) -> None:
    """`statuspage export TARGET`: the whole public site, written once."""
    started = time.monotonic()
    cache = PublicCache(database, Site.from_settings(settings), poll_interval=0)
    site = await snapshot(cache)
    if target.startswith("s3://"):
        from statuspage.export.s3 import upload

        where = await asyncio.to_thread(upload, target, site, settings)
    else:
        build = await asyncio.to_thread(write_site, Path(target), site)
        where = f"{Path(target) / 'current'} -> {build.name}"
    seconds = time.monotonic() - started
    print(_summary(site, where, seconds))


def _summary(site: Snapshot, where: str, seconds: float) -> str:
    return (
        f"export: {len(site.pages)} files of public version {site.version} "
        f"in {seconds:.1f} s: {where}"
    )


@dataclass
class ContinuousExport:
    """Re-exports the site into `folder` whenever the public version moves.

    Hooked to the public cache, which sees a change made here at once and one made by another
    instance within its poll interval. A change is exported in two steps: first what it can
    have touched (every page drawn from the public state, and older incidents edited since the
    last export), then, unless another change is waiting, the whole site again (older pages
    carry the overall status in their description). Changes that arrive during an export are
    folded into the next one.
    """

    cache: PublicCache
    folder: Path
    refresh_seconds: float = REFRESH_SECONDS
    exported: Snapshot | None = None
    _wanted: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.changed not in self.cache.listeners:
            self.cache.listeners.append(self.changed)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def changed(self) -> None:
        self._wanted.set()

    async def close(self) -> None:
        if self.changed in self.cache.listeners:
            self.cache.listeners.remove(self.changed)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def export(self, *, whole: bool) -> Path | None:
        """One export: the whole site, or what changed since the last one. None when another
        process is exporting into the folder (server workers share it): it sees the same
        changes, so this one leaves them to it."""
        with _exclusive(self.folder) as mine:
            if not mine:
                return None
            since = None
            if not whole and self.exported is not None:
                since = self.exported.updated_at - _CLOCK_SLACK
            site = await snapshot(self.cache, touched_since=since)
            build = await asyncio.to_thread(write_site, self.folder, site)
            self.exported = site
            return build

    async def _run(self) -> None:
        whole_due, delay = True, _RETRY_SECONDS
        while True:
            if not (whole_due and not self._wanted.is_set()):
                try:
                    await asyncio.wait_for(self._wanted.wait(), timeout=self.refresh_seconds)
                except TimeoutError:
                    whole_due = True
                    continue
            whole = not self._wanted.is_set()
            self._wanted.clear()
            try:
                await self.export(whole=whole)
            except Exception:  # database down, disk full: the last good export stays served
                log.exception("static export into %s failed; trying again", self.folder)
                self._wanted.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.refresh_seconds)
                continue
            whole_due, delay = not whole, _RETRY_SECONDS


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[bool]:
    """An advisory lock on the export folder, without waiting: True if this process got it."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / _LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # closing releases the lock
