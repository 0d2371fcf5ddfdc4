"""`statuspage serve`: migrate (and load the demo) in a child process, then serve HTTP with
granian, delivering in a niced worker child (statuspage/workers/process.py).

This process stays for as long as it serves, as granian's supervisor, so it imports only the
settings, granian and the child's supervision. The schema and the demo are done by a short-lived
`statuspage migrate` (or `demo`) child, and each web worker granian forks imports the app itself:
the supervisor holds about 17 MB PSS instead of 67 MB when it did all that (bench/memory.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from granian import Granian
from granian.constants import Interfaces

from statuspage.config import Settings
from statuspage.workers.process import WorkerProcess

# A web worker that has not stopped this long after serve was told to stop is killed. Granian's
# workers keep the supervisor's signal handlers until they have loaded the app, so a SIGTERM
# that comes while one loads is lost, and serve would wait for that worker for ever.
WEB_STOP_TIMEOUT_SECONDS = 10


def serve(settings: Settings, args: argparse.Namespace) -> int:
    prepared = subprocess.run(  # noqa: S603 - our own command; it checks the settings too
        [sys.executable, "-m", "statuspage.cli", "demo" if args.demo else "migrate"], check=False
    )
    if prepared.returncode != 0:
        return prepared.returncode
    host = args.host or settings.host
    port = args.port or settings.port
    child = None
    if settings.run_worker and settings.worker_process:
        child = WorkerProcess(os.environ, nice=settings.worker_nice)
        os.environ["RUN_WORKER"] = "false"  # the web processes leave delivery to the child
    where = f"http://{host}:{port}/ ({settings.database_url.split('://')[0]})"
    print(f"serving on {where}" + (", delivering in a worker process" if child else ""))
    sys.stdout.flush()
    if child is not None:
        child.start()
    try:
        Granian(
            "statuspage.app:app_from_env",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=args.workers,
            factory=True,
            respawn_failed_workers=True,  # a web process that dies is replaced
            workers_kill_timeout=WEB_STOP_TIMEOUT_SECONDS,
        ).serve()
    finally:
        if child is not None:
            child.stop()
    return 0
