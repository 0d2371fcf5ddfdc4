"""The delivery worker as a child process of `statuspage serve`, at a lower CPU priority.

A fan-out is minutes of CPU for the process that runs it (signing, rendering, sending). Run on
the web server's event loop, it shares each loop turn with the readers of the status page, just
when most of them come: in the outage benchmark, readers' p99 was 130 ms with the worker inside
the app and 90 ms with the same work in a process of its own. The child is niced
(`WORKER_NICE`), so when the two cores are contended the readers come first and the fan-out
catches up as soon as they leave.

The child is `statuspage worker` (delivery and the credit API; the scheduler stays with the web
instances). It is restarted whenever it exits before `serve` stops (after 1 s, then longer
while it keeps exiting quickly), and stopped when `serve` stops; it exits by itself if `serve`
is gone. It shares the serving process group, so a `kill -9` of the group takes it too, as a
machine crash would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

RESTART_DELAYS_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # after quick exits in a row
HEALTHY_AFTER_SECONDS = 60.0  # a child that ran this long starts the delays over
STOP_TIMEOUT_SECONDS = 15.0
PARENT_ENV = "STATUSPAGE_SERVE_PID"  # the child exits if this process goes away


class WorkerProcess:
    """Runs and supervises one `statuspage worker` child until `stop`."""

    def __init__(self, environ: Mapping[str, str], *, nice: int) -> None:
        self.environ = {
            **environ,
            "RUN_WORKER": "true",
            "RUN_SCHEDULER": "false",
            PARENT_ENV: str(os.getpid()),
        }
        self.nice = nice
        self.process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-process", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.process = subprocess.Popen(
                [sys.executable, "-m", "statuspage.cli", "worker"],
                env=self.environ,
                stdout=subprocess.DEVNULL,
            )
            self._started_at = time.monotonic()
        if self.nice:
            with contextlib.suppress(ProcessLookupError):  # it may have died already
                os.setpriority(os.PRIO_PROCESS, self.process.pid, self.nice)

    def _supervise(self) -> None:
        quick_exits = 0
        while not self._stopping.is_set():
            process = self.process
            code = process.wait() if process is not None else None
            if self._stopping.is_set():
                return
            ran = time.monotonic() - self._started_at
            quick_exits = 1 if ran >= HEALTHY_AFTER_SECONDS else quick_exits + 1
            delay = RESTART_DELAYS_SECONDS[min(quick_exits, len(RESTART_DELAYS_SECONDS)) - 1]
            log.error(
                "worker process exited with %s after %.0f s; restarting it in %.0f s",
                code, ran, delay,
            )  # fmt: skip
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
            except OSError:  # out of processes or memory, for now: try again after the delay
                log.exception("worker process could not be started")
                self.process = None
