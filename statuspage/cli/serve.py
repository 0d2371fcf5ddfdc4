"""`statuspage serve`: migrate (and load the demo) in a child process, then serve HTTP with
granian, delivering in a niced worker child (statuspage/workers/process.py).

This process stays for as long as it serves, as granian's supervisor, so it imports only the
settings, granian and the child's supervision. The schema and the demo are done by a short-lived
`statuspage migrate` (or `demo`) child, and each web worker granian forks imports the app itself:
the supervisor holds about 17 MB PSS instead of 67 MB when it did all that (bench/memory.py).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import subprocess
import sys

from granian import Granian
from granian.constants import Interfaces

from statuspage.config import Settings, demo_environment
from statuspage.workers.process import WorkerProcess

# A web worker that has not stopped this long after serve was told to stop is killed. Granian's
# workers keep the supervisor's signal handlers until they have loaded the app, so a SIGTERM
# that comes while one loads is lost, and serve would wait for that worker for ever.
WEB_STOP_TIMEOUT_SECONDS = 10


def serve(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    taken = _taken(host, port)
    if taken:
        print(f"error: {taken}", file=sys.stderr)
        return 2
    if args.demo:  # the demo looks as the README shows it, unless the deployment says otherwise
        local = {"PUBLIC_URL": f"http://{host}:{port}"}
        os.environ.update(demo_environment({**local, **os.environ}))
    prepared = subprocess.run(  # noqa: S603 - our own command; it checks the settings too
        [sys.executable, "-m", "statuspage.cli", "demo" if args.demo else "migrate"], check=False
    )
    if prepared.returncode != 0:
        return prepared.returncode
    child = None
    if settings.run_worker and settings.worker_process:
        child = WorkerProcess(os.environ, nice=settings.worker_nice)
        os.environ["RUN_WORKER"] = "false"  # the web processes leave delivery to the child
    where = f"http://{host}:{port}/ ({settings.database_url.split('://')[0]})"
    print(f"serving on {where}" + (", delivering in a worker process" if child else ""))
    print(f"staff console on http://{host}:{port}/staff/")
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
            backpressure=settings.web_concurrency_limit or None,
        ).serve()
    finally:
        if child is not None:
            child.stop()
    return 0


def _taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served, or None. Granian binds with SO_REUSEPORT, so a second
    `serve` on a port another server already listens on would start silently and share the
    connections with it (two databases behind one address); binding first without that option
    is refused by the kernel while anyone listens there."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot listen on {host}:{port}: {error}"
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"{host}:{port} is already in use by another server:"
                    " stop it, or give this one another --port (or PORT)"
                )
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None
