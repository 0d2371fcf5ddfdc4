"""`statuspage serve` as a real process tree: it stops when told, whatever its workers are doing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, serve_command, wait_until_up

pytestmark = pytest.mark.processes


def _children(parent: int) -> dict[int, str]:
    """The child processes of `parent`: pid -> command line."""
    found = {}
    for task in Path(f"/proc/{parent}/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
            for pid in pids:
                found[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # a thread or a child that ended meanwhile
            continue
    return {pid: command.decode() for pid, command in found.items()}


def _commands(children: dict[int, str]) -> list[str]:
    """`serve`, `worker`, ...: the command of each `python -m statuspage.cli` child."""
    return sorted(
        word
        for command in children.values()
        for word in command.partition(" -m statuspage.cli ")[2].split()[:1]
    )


def test_serve_stops_on_sigterm_while_its_web_worker_still_loads_the_app(tmp_path: Path) -> None:
    """The web worker gets granian's signal handlers only once it has loaded the app; a
    SIGTERM before then is lost in it, and serve kills it after WEB_STOP_TIMEOUT_SECONDS."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'status.db'}"}
    serving = subprocess.Popen(  # noqa: S603 - our own CLI
        serve_command(free_port()), env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        # The delivery child starts first, then granian forks the web worker (a child that has
        # not exec'd yet shows serve's command line too: the migrate child is gone by then).
        while _commands(children := _children(serving.pid)) != ["serve", "worker"]:
            assert time.monotonic() < deadline, f"serve started no web worker: {children}"
            time.sleep(0.01)
        serving.send_signal(signal.SIGTERM)
        assert serving.wait(timeout=40) == 0
        time.sleep(0.5)  # a child that outlived serve would still be running now
        assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    finally:
        if serving.poll() is None:
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait()


def test_serve_refuses_a_port_another_server_listens_on(tmp_path: Path) -> None:
    """Granian binds with SO_REUSEPORT, so a second serve on a taken port used to start
    silently and split the readers (and the staff's writes) between two databases."""
    port = free_port()
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as granian binds
    other.bind(("127.0.0.1", port))
    other.listen()
    database = tmp_path / "status.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    try:
        refused = subprocess.run(  # noqa: S603 - our own CLI
            serve_command(port), env=env, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        other.close()
    assert refused.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in refused.stderr
    assert not database.exists()  # refused before it migrated anything


def test_a_web_worker_works_on_at_most_its_limit_of_requests_at_once(tmp_path: Path) -> None:
    """WEB_CONCURRENCY_LIMIT=1: while one request is being worked on (a form whose body is still
    on its way), the next waits in granian's queue and is answered once the first is done."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'status.db'}",
           "WEB_CONCURRENCY_LIMIT": "1", "RUN_WORKER": "false"}  # fmt: skip
    serving = subprocess.Popen(  # noqa: S603 - our own CLI
        serve_command(port), env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            form = b"email=reader%40example.com"
            slow.sendall(
                b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(form)
            )
            time.sleep(0.5)  # the worker has taken it and waits for its body
            with pytest.raises(httpx.ReadTimeout):  # the one place is taken
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.5)
            slow.sendall(form)
            assert slow.recv(12).startswith(b"HTTP/1.1")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        serving.wait(timeout=30)
