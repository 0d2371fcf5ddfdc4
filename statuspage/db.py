"""Database wiring: async engines for SQLite and PostgreSQL, sessions, and migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from incidents import publication

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_T = TypeVar("_T")
BUSY_RETRY_SECONDS = 5  # what a write refused for a held lock tells its client to wait


def async_url(url: str) -> str:
    """The async driver's URL for what users write (`sqlite:///x.db`, `postgresql://…`)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be sqlite:// or postgresql://, not {backend}://")


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Sessions that only read. On SQLite the others take the write lock when they begin, so
    # a transaction that reads and then writes never fails with "database is locked".
    reader: async_sessionmaker[AsyncSession] | None = None

    @property
    def reading(self) -> async_sessionmaker[AsyncSession]:
        return self.reader or self.sessionmaker

    async def read(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        """Runs `work` in a session that only reads."""
        async with self.reading() as session:
            return await work(session)

    async def write(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        """Runs `work` in one transaction."""
        async with self.sessionmaker() as session, session.begin():
            return await work(session)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


def connect(url: str, *, echo: bool = False) -> Database:
    engine = create_async_engine(async_url(url), echo=echo, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    reader = session_factory(engine.execution_options(sqlite_deferred=True))
    return Database(engine=engine, sessionmaker=session_factory(engine), reader=reader)


_TRY_AGAIN = frozenset({"55P03", "40P01", "40001"})


def lock_wait_exceeded(error: BaseException) -> bool:
    """Whether the database gave up waiting for a lock another transaction holds: SQLite's
    "database is locked" once its busy timeout has passed, PostgreSQL's lock_timeout (55P03,
    where the operator sets one), a deadlock it broke by failing this transaction (40P01) or
    a serialization failure (40001). The transaction saved nothing and may be tried again."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in _TRY_AGAIN:
        return True
    return isinstance(original, sqlite3.OperationalError) and "is locked" in str(original)


class TrackedSession(Session):
    """The session under every AsyncSession the app makes: a flush that changes what the
    public sees bumps the public version in the same transaction."""


def session_factory(bind: Any, **options: Any) -> async_sessionmaker[AsyncSession]:
    """The one way sessions are made (app, CLI, workers, scheduler, tests), so no write can
    forget the version bump."""
    publication.track(TrackedSession)
    return async_sessionmaker(
        bind, expire_on_commit=False, sync_session_class=TrackedSession, **options
    )


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling breaks SAVEPOINT and transactional DDL;
    # SQLAlchemy's documented remedy: let the driver autocommit and emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A deferred BEGIN that reads and then writes is refused at once (the busy timeout does
    # not apply) when another connection wrote meanwhile; IMMEDIATE waits for the lock instead.
    deferred = connection.get_execution_options().get("sqlite_deferred", False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def alembic_config() -> Config:
    # Imported here: serving never migrates, and Alembic costs each worker ~10 MB.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


async def migrate(database: Database) -> None:
    """Brings the schema to the newest revision (creating it on first start)."""
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
