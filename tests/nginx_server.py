"""A real nginx (Debian's package) serving a static export with the config the README ships,
started as the current user in the foreground, its pid, logs and temp files in a folder."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = ROOT / "docs" / "nginx-static-export.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def config(site: Path, folder: Path, port: int, *, extra: str = "") -> str:
    """The shipped snippet inside a whole nginx.conf whose every file lives in `folder`."""
    snippet = SNIPPET.read_text()
    snippet = snippet.replace("listen 80;", f"listen 127.0.0.1:{port};")
    snippet = snippet.replace("root /srv/status/current;", f"root {site};")
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx would hand its workers to `nobody`, who cannot enter pytest's tmp folders.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log off;\n{temp}\n{snippet}\n{extra}\n}}\n"
    )


@contextmanager
def running_nginx(site: Path, folder: Path, *, extra: str = "") -> Iterator[str]:
    """nginx serving the export `site` (its `current`) on a free port; yields its base URL."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed: scripts/ensure-nginx installs it")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(config(site, folder, port, extra=extra))
    log = (folder / "stderr.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - Debian's nginx with our own config
        [binary, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")],
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
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{base}/", timeout=1)
            return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            errors = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
            raise AssertionError(f"nginx did not start: {errors}")
        time.sleep(0.05)
