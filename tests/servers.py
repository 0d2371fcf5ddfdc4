"""Helpers for tests that run the app as real server processes (multi-instance, browser)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


def create_staff(env: dict[str, str], email: str, name: str, role: str, password: str) -> None:
    """`statuspage staff create` with the password typed on stdin, as the README shows."""
    subprocess.run(  # noqa: S603 - our own CLI
        [
            *(sys.executable, "-m", "statuspage.cli", "staff", "create", "--email", email),
            *("--name", name, "--role", role, "--password-stdin"),
        ],
        env=env,
        input=password + "\n",
        text=True,
        capture_output=True,
        timeout=60,
        check=True,
    )


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
