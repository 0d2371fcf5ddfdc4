"""`statuspage serve` as a real process group: started, frozen to look at, killed with SIGKILL."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from tests.receivers import HttpReceiver
from tests.servers import free_port, serve_command, wait_until_up

CREDIT_SECRET = "whsec_" + base64.b64encode(b"crash-test-credit-secret-32bytes").decode()
Condition = Callable[[], Awaitable[bool]]


class App:
    """`statuspage serve` (granian supervisor and its worker) in its own process group, so a
    SIGKILL takes down the whole server at once, as a crashed machine or OOM kill would."""

    def __init__(self, url: str, receiver: HttpReceiver, settings: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "RUN_SCHEDULER": "false",
            "DELIVERY_CONCURRENCY": "16",
            # Short, so the leases of deliveries the dead server held run out soon: a claim
            # lasts the timeout plus the margin (the margin's 12 s default is for SQLite's
            # busy timeout; these writes never wait that long). Not 1 s: a credit call's
            # timeout includes its wait for one of 16 connections, and on a busy machine the
            # last of 4 waves took longer (then a 20-30 s backoff). Credit leases: 4 x 2 + 2 s,
            # run out while the restarted server sends the other credits.
            "DELIVERY_TIMEOUT_SECONDS": "2",
            "DELIVERY_LEASE_MARGIN_SECONDS": "1",
            "WORKER_POLL_SECONDS": "0.05",
            "CACHE_POLL_SECONDS": "0.5",
            "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",  # the receiver is on 127.0.0.1
            "CREDIT_API_URL": receiver.url("/credit"),
            "CREDIT_API_SECRET": CREDIT_SECRET,
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(self.port),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_up(self.base, seconds=60, every=0.05)

    def _signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, number)

    def kill(self) -> None:
        assert self.process is not None
        self._signal(signal.SIGKILL)
        self.process.wait()
        _wait_for_port_free(self.port)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait()

    async def kill_when(self, condition: Condition, seconds: float, every: float = 0.005) -> bool:
        """Freezes the server (SIGSTOP) every `every` seconds and looks: when `condition` holds
        of the frozen state, SIGKILL lands exactly there; otherwise it runs on (SIGCONT). A
        poll of a running server could miss a short operation; this one cannot skip more
        than `every` of the server's own running time. False if it never held."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(every)
            self._signal(signal.SIGSTOP)
            try:
                held = await condition()
            except BaseException:
                self._signal(signal.SIGCONT)
                raise
            if held:
                self.kill()
                return True
            self._signal(signal.SIGCONT)
        return False


@asynccontextmanager
async def serving(url: str, receiver: HttpReceiver, **settings: str) -> AsyncIterator[App]:
    """The server started (with `settings` added to its environment); stopped at the end,
    whatever state the scenario left it in."""
    app = App(url, receiver, settings)
    app.start()
    try:
        yield app
    finally:
        app.stop()


def _wait_for_port_free(port: int) -> None:
    """The worker process dies with its group; wait until nothing answers on the port."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.2)
        except httpx.TransportError:
            return
        time.sleep(0.05)
    raise AssertionError(f"something still answers on port {port} after SIGKILL")


async def wait_until(condition: Condition, seconds: float, every: float = 0.01) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(every)
    return False


def at_least(count: Callable[[], int], target: int) -> Condition:
    async def reached() -> bool:
        return count() >= target

    return reached
