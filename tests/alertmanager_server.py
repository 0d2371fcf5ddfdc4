"""A real Alertmanager (Debian's `prometheus-alertmanager`) whose one route sends every alert
to our webhook, started as the current user in the foreground with its data in a folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str | None:
    found = (shutil.which(name) for name in BINARY_NAMES)
    return next((path for path in found if path), None) or next(
        (path for path in ("/usr/bin/prometheus-alertmanager",) if os.access(path, os.X_OK)), None
    )


def require_alertmanager() -> str:
    """The binary; a missing one skips on a laptop but fails in CI."""
    binary = alertmanager_binary()
    if binary is None:
        message = "prometheus-alertmanager is not installed: scripts/ensure-alertmanager does it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def config(webhook_url: str) -> str:
    """One route, notified at once and again a second after any change (resolutions too)."""
    return (
        "route:\n"
        "  receiver: statuspage\n"
        "  group_by: [alertname]\n"
        "  group_wait: 0s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: statuspage\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url!r}\n"
        "        send_resolved: true\n"
    )


@contextmanager
def running_alertmanager(webhook_url: str, folder: Path) -> Iterator[str]:
    """Alertmanager on a free port, clustering off; yields its base URL."""
    binary = require_alertmanager()
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "alertmanager.yml"
    conf.write_text(config(webhook_url))
    log = (folder / "alertmanager.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - Debian's alertmanager with our own config
        [
            binary,
            f"--config.file={conf}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process, folder)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait(base: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"alertmanager did not start: {(folder / 'alertmanager.log').read_text()}"
            )
        time.sleep(0.05)
