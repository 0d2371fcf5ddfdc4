"""Fixtures: a migrated database per backend (SQLite always, PostgreSQL when configured),
each test inside a transaction that is rolled back, and an app client with tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from statuspage.db import Database, connect, migrate, session_factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Properties, not timings: hypothesis's 200 ms deadline per example failed on a loaded machine
# (two xdist workers on two cores) while the property held. Speed is measured in bench/.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not TEST_DATABASE_URL:
        raise pytest.UsageError(
            "CI=true but TEST_DATABASE_URL is not set: the suite must also run on PostgreSQL"
        )


# Tests that start servers, browsers or nginx take 5-60 s each: they run first, so that the two
# workers end the run on short tests together (`--dist worksteal` in scripts/test hands an idle
# worker half of the other's queue) instead of one finishing a long test while the other idles.
LONG = ("processes", "browser", "nginx", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not any(item.get_closest_marker(mark) for mark in LONG))


async def _fresh_schema(url: str) -> None:
    database = connect(url)
    try:
        if database.dialect == "postgresql":
            async with database.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await migrate(database)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each backend's URL, migrated once for the whole run. Under pytest-xdist each worker
    gets a PostgreSQL database of its own beside the test one (`<name>_gw0`, ...), made
    again at every run, so workers never drop each other's schema."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    if TEST_DATABASE_URL:
        urls["postgresql"] = TEST_DATABASE_URL
    try:
        if TEST_DATABASE_URL and XDIST_WORKER:
            name = f"{make_url(TEST_DATABASE_URL).database}_{XDIST_WORKER}"
            urls["postgresql"] = asyncio.run(_scratch_postgres(TEST_DATABASE_URL, name))
        for url in urls.values():
            asyncio.run(_fresh_schema(url))
    except OSError as error:
        pytest.exit(f"cannot reach the test database: {error}", returncode=3)
    return urls


# One engine per backend for the run: SQLAlchemy keeps the SQL it compiled per engine, and an
# engine per test compiled every statement again (~10 ms of CPU a test). Its pool is emptied
# when each test ends, so no connection outlives the test's event loop.
_ENGINES: dict[str, Database] = {}


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, migrated_urls: dict[str, str]
) -> AsyncIterator[Database]:
    """A database whose every commit lands in a savepoint of one outer transaction,
    rolled back when the test ends: tests never see each other's rows."""
    url = migrated_urls[request.param]
    real = _ENGINES.get(url) or _ENGINES.setdefault(url, connect(url))
    # Deferred: one connection per test, and a test may also reach the file another way.
    try:
        async with real.engine.execution_options(sqlite_deferred=True).connect() as connection:
            outer = await connection.begin()
            try:
                yield Database(
                    engine=real.engine,
                    sessionmaker=session_factory(
                        connection, join_transaction_mode="create_savepoint"
                    ),
                )
            finally:
                await outer.rollback()
    finally:  # the shared engine never keeps a test's connection (or its SQLite lock)
        await real.dispose()


# -- password hashing at a test's cost --------------------------------------------------------

from argon2 import PasswordHasher  # noqa: E402

from statuspage.access import staff_accounts  # noqa: E402

# The console's argon2 at its real cost takes a core for about 0.1 s per hash or check (seconds
# with two workers on two cores), and the suite signs in and adds staff hundreds of times.
# Tests hash with argon2's least cost instead; the real hasher stays what every deployment
# uses (no setting or variable lowers it), and test_password_cost.py signs in with it.
REAL_PASSWORD_HASHER = staff_accounts._hasher
CHEAP_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff_accounts, "_hasher", CHEAP_PASSWORD_HASHER)
        patch.setattr(staff_accounts, "_DUMMY_HASH", CHEAP_PASSWORD_HASHER.hash("nobody's"))
        yield


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "statuspage.db"


# -- the app and its callers ----------------------------------------------------------------

from collections.abc import Awaitable, Callable  # noqa: E402

import httpx  # noqa: E402

from incidents.common.staff import StaffRole  # noqa: E402
from statuspage.access import tokens as auth  # noqa: E402
from statuspage.app import create_app  # noqa: E402
from statuspage.config import Settings  # noqa: E402

MakeToken = Callable[..., Awaitable[str]]


@pytest.fixture
def settings() -> Settings:
    # No background poll: all tests share one connection, and a write through the app
    # refreshes the cache at once anyway. The multi-instance test runs real servers.
    return Settings(
        database_url="sqlite:///unused-in-tests.db",
        cache_poll_seconds=0,
        run_worker=False,
        run_scheduler=False,
        # The receivers tests deliver to listen on 127.0.0.1; the guard's own tests turn
        # this off.
        allow_private_webhook_hosts=True,
    )


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


@pytest.fixture
def make_token(database: Database) -> MakeToken:
    """Creates a staff member with the role and returns a bearer token for them."""

    async def make(role: StaffRole, email: str | None = None) -> str:
        async with database.sessionmaker() as session, session.begin():
            staff = await auth.create_staff(
                session,
                email=email or f"{role.value}@example.com",
                name=f"{role.value.title()} Person",
                role=role,
                actor_id=None,
            )
            _, plain = await auth.create_token(session, staff=staff, name="tests", actor_id=None)
        return plain

    return make


@pytest.fixture
async def support(make_token: MakeToken) -> dict[str, str]:
    """Authorization headers of a support agent."""
    return {"Authorization": f"Bearer {await make_token(StaffRole.support)}"}


@pytest.fixture
async def admin(make_token: MakeToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(StaffRole.admin)}"}


@pytest.fixture
async def finance(make_token: MakeToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(StaffRole.finance)}"}


# -- real receivers for broadcasts ------------------------------------------------------------

from tests.receivers import HttpReceiver, SmtpReceiver, running_http, running_smtp  # noqa: E402


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server on a free port that records every POST."""
    yield from running_http()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message."""
    yield from running_smtp()


@pytest.fixture
def mail_settings(settings: Settings, smtp_receiver: SmtpReceiver) -> Settings:
    """Settings whose mail goes to the test's SMTP server, with fast worker timeouts."""
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp_receiver.port,
        mail_from="Exchange Status <status@exchange.example>",
        public_url="https://status.exchange.example",
        site_name="Exchange",
        delivery_timeout_seconds=2.0,
    )


# -- a database of its own, committed for real ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fresh:
    """A freshly migrated database nobody else uses, for tests whose writes must really
    commit (other processes, other connections): its URL and the app's handle on it."""

    url: str
    database: Database


class Templates:
    """Each backend's database, migrated once in a run (on first use), that `fresh` copies:
    a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL. Migrating took 0.15-0.3 s
    on SQLite and more on PostgreSQL, for every test that asked for a database of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[str, str] = {}

    async def made(self, backend: str) -> str:
        """The migrated template: a file's path on SQLite, a database's name on PostgreSQL."""
        if backend not in self._made:
            if backend == "sqlite":
                made, url = str(self.folder / "template.db"), f"sqlite:///{self.folder}/template.db"
            else:
                made = f"statuspage_template_{os.getpid()}"
                url = await _scratch_postgres(TEST_DATABASE_URL, made)
            database = connect(url)
            try:
                await migrate(database)
            finally:
                await database.dispose()  # a template PostgreSQL copies has no one connected
            self._made[backend] = made
        return self._made[backend]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(params=BACKENDS)
async def fresh(
    request: pytest.FixtureRequest, tmp_path: Path, templates: Templates
) -> AsyncIterator[Fresh]:
    template = await templates.made(request.param)
    if request.param == "sqlite":
        shutil.copyfile(template, tmp_path / "fresh.db")
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        name = f"statuspage_fresh_{os.getpid()}"
        url = await _scratch_postgres(TEST_DATABASE_URL, name, template=template)
    database = connect(url)
    yield Fresh(url, database)
    await database.dispose()


_SCRATCH: dict[str, str] = {}  # name -> the server's URL, dropped when the session ends


@pytest.fixture(scope="session", autouse=True)
def _drop_scratch_databases() -> Iterator[None]:
    """Scratch databases live as long as the run that made them, not on the machine after."""
    yield
    for name, base_url in _SCRATCH.items():
        asyncio.run(_drop_postgres(base_url, name))


async def _drop_postgres(base_url: str, name: str) -> None:
    admin = connect(make_url(base_url).set(database="postgres").render_as_string(False))
    try:
        async with admin.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _scratch_postgres(base_url: str, name: str, *, template: str = "") -> str:
    """An empty PostgreSQL database beside the test one, or a copy of `template` (dropped and
    made again, and dropped at the end of the run)."""
    _SCRATCH[name] = base_url
    server = make_url(base_url)
    admin = connect(server.set(database="postgres").render_as_string(hide_password=False))
    try:
        async with admin.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            copy = f' TEMPLATE "{template}"' if template else ""
            await connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        await admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)
