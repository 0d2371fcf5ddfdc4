"""What the routes run on, in one typed object that `create_app` builds and hands to each
wing's `routes(...)`: no attribute fetched from `app.state`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.group_commit import GroupCommit
from statuspage.keys import Keys
from statuspage.wake import Bell

AfterWrite = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    keys: Keys  # the site key, loaded from the database on first use
    bell: Bell  # wakes the delivery and credit workers, in this process or another
    # After a write through the app committed: wakes the workers and the scheduler and
    # refreshes this instance's public pages, so the answer's reader sees the change.
    after_write: AfterWrite
    # Monitoring's small writes (the alert hooks), many requests to one transaction; it
    # runs `after_write` once per batch.
    batches: GroupCommit
