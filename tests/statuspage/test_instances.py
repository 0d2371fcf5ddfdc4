"""Two app instances on one database: a change made through one shows on the other's cached
page within two seconds (each instance polls the public version row)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.servers import free_port, run_cli, serve_command, wait_until_up

pytestmark = pytest.mark.processes

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own, committed to for real: the servers are separate processes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    name = f"statuspage_instances_{secrets.token_hex(4)}"
    admin_url = make_url(TEST_DATABASE_URL)
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await connection.close()


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    env = {**os.environ, "DATABASE_URL": database_url, "CACHE_POLL_SECONDS": "0.5"}
    token = run_cli(env, "demo").split("shown once): ")[1].strip()
    ports = [free_port(), free_port()]
    logs = [(tmp_path / f"server-{port}.log").open("w") for port in ports]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_until_up(base)
        yield bases, token
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        for log in logs:
            log.close()


async def test_a_change_through_one_instance_reaches_the_other_within_two_seconds(
    servers: tuple[list[str], str],
) -> None:
    (first, second), token = servers
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=5) as client:
        for base in (first, second):  # both caches hold the page now
            page = await client.get(f"{base}/")
            assert "BTC deposits credited slowly" in page.text
            assert "Partially Degraded Service" in page.text
        listed = await client.get(f"{first}/api/staff/incidents?status=identified", headers=headers)
        incident = listed.json()[0]
        resolved = await client.post(
            f"{first}/api/staff/incidents/{incident['id']}/resolve",
            json={"body": "Deposits are credited normally again."},
            headers=headers,
        )
        assert resolved.status_code == 200, resolved.text
        changed_at = time.monotonic()

        # The incident resolved, the banner tells of the demo's maintenance under way.
        banner = "<h1>Service Under Maintenance</h1>"
        same = await client.get(f"{first}/")
        assert banner in same.text  # at once on the instance written to

        while banner not in (await client.get(f"{second}/")).text:
            assert time.monotonic() - changed_at < 2.0, (
                "the other instance still shows the old page"
            )
            await asyncio.sleep(0.05)
