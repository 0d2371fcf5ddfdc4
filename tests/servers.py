"""Helpers for tests that run the app as real server processes (multi-instance, browser)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    """Runs `statuspage ARGS` with this environment and returns what it printed."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "statuspage.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "statuspage.cli", "serve", "--port", str(port)]


def wait_until_up(base: str, *, seconds: float = 30, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server at {base} did not start")
        time.sleep(every)


Person = tuple[str, str, str, str | None]  # email, name, role, password (or none)


def add_staff(
    env: dict[str, str], people: Iterable[Person], *, tokens: Iterable[str] = ()
) -> dict[str, str]:
    """Staff accounts with passwords in the database of `env`, written from this process as
    `statuspage staff create --password-stdin` writes each (test_console_auth runs that
    command): one process per person cost the fixtures ~1 s of CPU each. Returns an API
    token for each email in `tokens`."""
    made = _add_staff(env["DATABASE_URL"], list(people), list(tokens))
    with ThreadPoolExecutor(1) as thread:  # its own event loop, whoever calls
        return thread.submit(asyncio.run, made).result()


async def _add_staff(url: str, people: list[Person], emails: list[str]) -> dict[str, str]:
    from incidents.common.staff import StaffRole
    from statuspage.access import staff_accounts
    from statuspage.access import tokens as auth
    from statuspage.db import connect

    database = connect(url)
    try:
        async with database.sessionmaker() as session, session.begin():
            for email, name, role, password in people:
                staff = await auth.create_staff(
                    session, email=email, name=name, role=StaffRole(role), actor_id=None
                )
                if password is not None:
                    await staff_accounts.set_password(
                        session, staff_id=staff.id, password=password, actor_id=None
                    )
            made = {}
            for email in emails:
                staff = await auth.find_staff(session, email=email)
                made[email] = (
                    await auth.create_token(session, staff=staff, name="t", actor_id=None)
                )[1]
        return made
    finally:
        await database.dispose()


@contextmanager
def served(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`statuspage serve` on a free port with this environment, its output in `log_path`;
    yields its base URL once it answers, and stops it after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(base)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
