"""Waking the outbox workers wherever they run: a `Bell` rung after a write commits, heard by
the `Doorbell` of every worker process on the same database.

On PostgreSQL the bell is a NOTIFY and the doorbell a LISTEN on a connection of its own. On
SQLite (one machine) each listening process binds a Unix datagram socket in a folder beside
the database file, and the bell sends one byte to each. A wake that is lost (a worker
restarting, a full socket buffer, a dropped connection) costs only time: the workers still
poll every WORKER_POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from statuspage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "statuspage_outbox"
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on the BSDs


class Bell:
    """Tells every worker on this database that there may be something due."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._folder = socket_folder(database)

    async def ring(self) -> None:
        """After a commit; a failure is logged and left to the workers' poll."""
        if self._database.dialect == "postgresql":
            try:
                async with self._database.engine.connect() as connection:
                    await connection.execute(
                        text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL}
                    )
                    await connection.commit()
            except (OSError, SQLAlchemyError):
                log.warning("could not notify the workers; they will find it at their poll")
        elif self._folder is not None:
            _send_to_all(self._folder)


class Doorbell:
    """One worker process's ear: calls `on_ring` whenever a `Bell` of its database rings."""

    def __init__(
        self, database: Database, on_ring: Callable[[], None], *, retry_seconds: float
    ) -> None:
        self._database = database
        self._on_ring = on_ring
        self._retry_seconds = retry_seconds
        self._connection: Any = None  # asyncpg's, LISTENing
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._database.dialect == "postgresql":
            self._task = asyncio.create_task(self._keep_listening(), name="doorbell")
        elif (folder := socket_folder(self._database)) is not None:
            self._socket = _bind(folder)
            asyncio.get_running_loop().add_reader(self._socket.fileno(), self._heard)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await self._connection.close(timeout=5)
            self._connection = None
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            path = self._socket.getsockname()
            self._socket.close()
            self._socket = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _heard(self) -> None:
        assert self._socket is not None
        with contextlib.suppress(BlockingIOError):
            while self._socket.recv(16):  # every byte waiting: one look covers them all
                pass
        self._on_ring()

    async def _keep_listening(self) -> None:
        """LISTENs, and listens again after the connection drops (looking once on each
        reconnect, for what rang meanwhile)."""
        import asyncpg  # the PostgreSQL driver, only on PostgreSQL

        dsn = self._database.engine.url.set(drivername="postgresql")
        while True:
            if self._connection is None or self._connection.is_closed():
                try:
                    self._connection = await asyncpg.connect(
                        dsn.render_as_string(hide_password=False)
                    )
                    await self._connection.add_listener(CHANNEL, self._notified)
                    self._on_ring()
                except (OSError, asyncpg.PostgresError):
                    log.warning("cannot LISTEN for wake-ups; polling until the database answers")
                    self._connection = None
            await asyncio.sleep(self._retry_seconds)

    def _notified(self, *_args: object) -> None:
        self._on_ring()


def socket_folder(database: Database) -> Path | None:
    """Where SQLite's listening sockets live: beside the database file (in the temporary
    folder when that path is too long for a socket); None off SQLite or in memory."""
    name = database.engine.url.database
    if database.dialect != "sqlite" or not name or name == ":memory:":
        return None
    file = Path(name).expanduser().absolute()
    folder = file.with_name(file.name + ".wake")
    if len(str(folder)) > _SOCKET_PATH_MAX - 24:  # room for "/<pid>-<token>.sock"
        digest = hashlib.sha256(str(file).encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"statuspage-{digest}.wake"
    return folder


def _bind(folder: Path) -> socket.socket:
    folder.mkdir(mode=0o700, exist_ok=True)
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listening.setblocking(False)
    listening.bind(str(folder / f"{os.getpid()}-{secrets.token_hex(4)}.sock"))
    return listening


def _send_to_all(folder: Path) -> None:
    try:
        paths = list(folder.glob("*.sock"))
    except OSError:
        return
    if not paths:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for path in paths:
            try:
                sender.sendto(b"!", str(path))
            except BlockingIOError:
                pass  # its buffer is full of wake-ups it has not read yet: it is awake
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # left by a worker that died: nobody listens there
            except OSError:
                log.warning("could not wake the worker at %s", path, exc_info=True)
