"""The delivery worker as a child process of `statuspage serve`, at a lower CPU priority.

A fan-out is minutes of CPU for the process that runs it (signing, rendering, sending). Run on
the web server's event loop, it shares each loop turn with the readers of the status page, just
when most of them come: in the outage benchmark, readers' p99 was 130 ms with the worker inside
the app and 90 ms with the same work in a process of its own. The child is niced
(`WORKER_NICE`), so when the two cores are contended the readers come first and the fan-out
catches up as soon as they leave.

The child is `statuspage worker` (delivery and the credit API; the scheduler stays with the web
instances). It is restarted if it dies (a signal or an error, not a clean exit), and stopped
when `serve` stops. It shares the serving
process group, so a `kill -9` of the group takes it too, as a machine crash would.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 15.0


class WorkerProcess:
    """Runs and supervises one `statuspage worker` child until `stop`."""

    def __init__(self, environ: Mapping[str, str], *, nice: int) -> None:
        self.environ = {**environ, "RUN_WORKER": "true", "RUN_SCHEDULER": "false"}
        self.nice = nice
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
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
        nice = self.nice

        def lower_priority() -> None:  # runs in the child, before exec
            if nice:
                os.nice(nice)

        with self._lock:
            if self._stopping.is_set():
                return
            self.process = subprocess.Popen(
                [sys.executable, "-m", "statuspage.cli", "worker"],
                env=self.environ,
                stdout=subprocess.DEVNULL,
                preexec_fn=lower_priority,
            )

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set() or code == 0:
                return  # asked to stop: by us, or by a Ctrl-C that reached the whole group
            log.error("worker process exited with %s; restarting it", code)
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            self.restarts += 1
            self._spawn()
