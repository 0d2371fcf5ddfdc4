"""Load during an outage: the public page and summary.json under wrk while staff post an update
every second through the staff API and the server fans each one out to its subscribers.

    bash bench/run outage            (sets up, installs wrk if missing, runs this)
    .venv/bin/python bench/outage.py --duration 15 --connections 256 --webhooks 2000 --emails 200

Every party is its own process: `statuspage serve` (granian, one web worker, and the delivery
worker in serve's niced child process, as deployed; for comparison also with the delivery worker
on the app's own event loop, `WORKER_PROCESS=false`); wrk (loopback only, bounded duration); a webhook receiver
and an aiosmtpd receiver (bench/fanout.py's); and this process, which posts the updates and
watches the page. For each update it records the time from the POST's response to the first
response of `/api/v2/summary.json` (polled every 50 ms by another client, not through wrk's
connections) that shows the new update's text.

Baselines in the same run: a bare Starlette hello-world under the same wrk, and the same app
and targets under the same wrk with nobody posting (so no re-renders and no fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from incidents.common.actor import Actor

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fanout  # noqa: E402
from bench import run as surfaces  # noqa: E402

GZIP = ["Accept-Encoding: gzip"]


async def prepare(url: str, *, webhook: str, webhooks: int, emails: int) -> tuple[str, int]:
    """A migrated database: one component, an open incident on it (opened without notifying),
    `webhooks` + `emails` confirmed subscribers to everything, and a support token."""
    from sqlalchemy import insert

    from incidents import component_flows, flows
    from incidents.broadcasting.models import Audience, Channel, Subscription
    from incidents.common.staff import StaffRole
    from incidents.schemas import ComponentIn, IncidentOpen
    from statuspage.access import tokens
    from statuspage.db import connect, migrate

    database = connect(url)
    await migrate(database)
    now = datetime.now(UTC)

    def row(channel: Channel, address: str, secret: str | None) -> dict[str, Any]:
        return {
            "channel": channel, "audience": Audience.public, "address": address,
            "language": "en", "options": {}, "secret": secret, "all_components": True,
            "confirmed_at": now, "consecutive_failures": 0, "token_version": 1,
            "created_at": now, "updated_at": now,
        }  # fmt: skip

    rows = [
        row(
            Channel.webhook,
            f"{webhook}/hook/{n}",
            "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        )
        for n in range(webhooks)
    ] + [row(Channel.email, f"holder{n}@example.test", None) for n in range(emails)]
    actor = Actor(staff_id=None, default_language="en")
    async with database.sessionmaker() as session, session.begin():
        component = await component_flows.create_component(
            session, data=ComponentIn(name="ETH deposits and withdrawals"), actor=actor
        )
        opened = await flows.open_incident(
            session,
            data=IncidentOpen.model_validate({
                "name": "ETH withdrawals delayed",
                "body": "We are looking into delayed ETH withdrawals.",
                "components": {component.id: "partial_outage"},
                "notify": False,
            }),
            actor=actor,
        )  # fmt: skip
        if rows:
            await session.execute(insert(Subscription), rows)
        staff = await tokens.create_staff(
            session, email="support@bench.test", name="Support", role=StaffRole.support,
            actor_id=None,
        )  # fmt: skip
        token = (await tokens.create_token(session, staff=staff, name="bench", actor_id=None))[1]
    await database.dispose()
    return token, opened.id


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = surfaces._free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "statuspage.cli", "serve", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    surfaces._wait(base)
    return process, base


def stop_server(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def post_and_watch(
    base: str, token: str, incident_id: int, *, seconds: float, first: int
) -> list[tuple[float, float]]:
    """Posts an update every second for `seconds`; returns (POST latency, time until visible
    on summary.json) per update, in seconds."""
    found: list[tuple[float, float]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as staff,
        httpx.AsyncClient(base_url=base, timeout=30, headers={"Accept-Encoding": "gzip"}) as reader,
    ):
        deadline = time.monotonic() + seconds
        number = first
        while time.monotonic() < deadline:
            tick = time.monotonic()
            body = f"Update {number}: withdrawals are being sent again, oldest first."
            sent = time.monotonic()
            response = await staff.post(
                f"/api/staff/incidents/{incident_id}/updates",
                json={"status": "monitoring" if number % 2 else "identified", "body": body},
                headers=headers,
            )
            answered = time.monotonic()
            assert response.status_code == 201, response.text
            while body not in (await reader.get("/api/v2/summary.json")).text:
                await asyncio.sleep(0.05)
                if time.monotonic() - answered > 30:
                    raise RuntimeError(f"update {number} not visible after 30 s")
            found.append((answered - sent, time.monotonic() - answered))
            number += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    return found


def wrk_during(
    name: str, url: str, args: argparse.Namespace, posting: Any
) -> tuple[surfaces.Result, Any]:
    """wrk against `url` in its own process while `posting` (a coroutine) runs here."""
    surfaces._warm_up(url, GZIP)
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", "--timeout", "5s", "-H", GZIP[0], url,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    extra = asyncio.run(posting) if posting is not None else None
    output, _ = process.communicate(timeout=args.duration + 60)
    return surfaces.parse_wrk(name, output), extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--nice", type=int, default=5, help="WORKER_NICE of serve's worker")
    parser.add_argument(
        "--only-default", dest="modes", action="store_const", const=(False,), default=(True, False),
        help="measure only the default deployment (not also the worker on the app's loop)",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; granian, 1 worker")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHE_POLL_SECONDS": "1"}
    with tempfile.TemporaryDirectory() as folder, fanout.receiver("http") as (_hook_pid, hook_ports), \
            fanout.receiver("smtp") as (_mail_pid, mail_ports):  # fmt: skip
        url = args.database_url or f"sqlite:///{Path(folder) / 'outage.db'}"
        controls = f"http://127.0.0.1:{hook_ports[0]}", f"http://127.0.0.1:{mail_ports[1]}"
        token, incident_id = asyncio.run(
            prepare(url, webhook=controls[0], webhooks=args.webhooks, emails=args.emails)
        )
        with surfaces.server("bench.hello:app", env, factory=False, workers=1) as base:
            hello = wrk_during("hello-world", base + "/", args, None)[0]
        print(f"\nhello-world: {hello.requests_per_second:.0f} req/s, p99 {hello.p99_ms:.1f} ms")
        server_env = {
            **env, "DATABASE_URL": url, "RUN_SCHEDULER": "false", "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail_ports[0]), "PUBLIC_URL": "http://127.0.0.1",
            "WORKER_NICE": str(args.nice),
            "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true",  # the receivers are on 127.0.0.1
        }  # fmt: skip
        posted = 0
        for inline in args.modes:
            for control in controls:
                httpx.post(control + "/_reset")
            rows, visible = measure(server_env, args, token, incident_id, inline, posted)
            posted += len(visible)
            hooks, mails = (httpx.get(control + "/_stats").json() for control in controls)
            label = (
                "worker on the app's event loop (WORKER_PROCESS=false)"
                if inline
                else f"worker in serve's child process (the default, WORKER_NICE={args.nice})"
            )
            report(label, [hello, *rows], visible, hooks, mails, args)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def measure(
    server_env: dict[str, str], args: argparse.Namespace, token: str, incident_id: int,
    inline: bool, first: int,
) -> tuple[list[surfaces.Result], list[tuple[float, float]]]:  # fmt: skip
    """The page and summary.json under wrk, without updates and then with an update a second,
    with the delivery worker on the app's event loop (`inline`) or in serve's child process."""
    env = {**server_env, "WORKER_PROCESS": "false"} if inline else server_env
    process, base = start_server(env)
    rows: list[surfaces.Result] = []
    visible: list[tuple[float, float]] = []
    try:
        for path in ("/", "/api/v2/summary.json"):
            rows.append(wrk_during(f"{path} (no updates)", base + path, args, None)[0])
        for path in ("/", "/api/v2/summary.json"):
            watch = post_and_watch(
                base, token, incident_id, seconds=args.duration - 1, first=first + len(visible)
            )
            result, found = wrk_during(f"{path} (update/s + fan-out)", base + path, args, watch)
            rows.append(result)
            visible += found
        time.sleep(5)  # the last updates' fan-out
    finally:
        stop_server(process)
    return rows, visible


def report(
    label: str, rows: list[surfaces.Result], visible: list[tuple[float, float]],
    hooks: dict[str, Any], mails: dict[str, Any], args: argparse.Namespace,
) -> None:  # fmt: skip
    baseline = rows[0].requests_per_second
    print(
        f"\n{label}:\n\n| target | req/s | × hello-world | p99 ms | errors |\n|---|---:|---:|---:|---:|"
    )
    for row in rows:
        print(
            f"| {row.name} | {row.requests_per_second:.0f} | {row.requests_per_second / baseline:.2f} "
            f"| {row.p99_ms:.1f} | {row.errors} |"
        )
    posts = sorted(1000 * post for post, _ in visible)
    shown = sorted(1000 * seen for _, seen in visible)
    print(f"\nupdates posted: {len(visible)}")
    print(
        f"POST latency ms: median {statistics.median(posts):.0f}, max {posts[-1]:.0f}; "
        f"visible on summary.json after the response, ms: median {statistics.median(shown):.0f}, "
        f"p95 {shown[max(0, round(0.95 * len(shown)) - 1)]:.0f}, max {shown[-1]:.0f}; "
        f"over 2 s: {sum(1 for s in shown if s > 2000)}"
    )
    expected = len(visible)
    print(
        f"deliveries received: webhooks {hooks['total']} of {expected * args.webhooks} "
        f"({hooks['duplicated']} paths got more than one: one per update), "
        f"emails {mails['total']} of {expected * args.emails}"
    )


if __name__ == "__main__":
    main()
