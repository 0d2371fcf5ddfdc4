"""Detection, end to end: from Alertmanager's webhook arriving to the page's summary.json
showing the component, and to the first subscriber webhook delivered, under an "announce at
once" rule; then a storm of alerts in a few seconds (no 5xx, one incident).

    bash bench/run alerts            (sets up, runs this)
    .venv/bin/python bench/alerts.py --rounds 30 --storm 1000 --storm-seconds 10

Every party is its own process: `statuspage serve` (granian, one web worker, the delivery
worker in serve's child process, as deployed), a webhook receiver (bench/fanout.py's) with one
signed webhook subscriber to everything, and this process, which posts Alertmanager's
payloads and polls /api/v2/summary.json every 20 ms. Each round fires a new alert (the rule
resolves automatically, so each firing opens a new incident) and then resolves it. Times are
from just before the POST to the first summary.json that shows the component down, and to
the receiver's arrival of the subscriber's webhook (both clocks are this machine's monotonic
clock).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fanout, outage  # noqa: E402


async def prepare(url: str, *, webhook: str) -> tuple[str, int]:
    """A migrated database: one component, an Alertmanager source, an "announce at once"
    rule that resolves on recovery, and one confirmed webhook subscriber."""
    from datetime import UTC, datetime

    from incidents import component_flows
    from incidents.broadcasting.models import Audience, Channel, Subscription
    from incidents.common.actor import Actor
    from incidents.detection import setup
    from incidents.detection.schemas import RuleIn, SourceIn
    from incidents.schemas import ComponentIn
    from statuspage.access.alert_sources import create_source
    from statuspage.db import connect, migrate

    database = connect(url)
    await migrate(database)
    actor = Actor(staff_id=None, default_language="en")
    now = datetime.now(UTC)
    async with database.sessionmaker() as session, session.begin():
        component = await component_flows.create_component(
            session, data=ComponentIn(name="ETH withdrawals"), actor=actor
        )
        source, secret = await create_source(
            session, data=SourceIn(name="prod", storm_limit=1_000), actor_id=None
        )
        text = {"name": "ETH withdrawals are failing", "body": "Monitoring sees failures.",
                "recovery_body": "ETH withdrawals work again."}  # fmt: skip
        await setup.create_rule(
            session,
            data=RuleIn.model_validate({
                "source_id": source.id, "matchers": {"service": "wallet"},
                "component_id": component.id, "component_status": "major_outage",
                "policy": "announce", "resolve_automatically": True, "language": "en",
                "texts": {"en": text},
            }),
            actor=actor,
        )  # fmt: skip
        session.add(
            Subscription(
                channel=Channel.webhook, audience=Audience.public, address=f"{webhook}/hook/1",
                language="en", options={}, secret=fanout._webhook_secret(), all_components=True,
                confirmed_at=now, consecutive_failures=0, token_version=1,
            )
        )  # fmt: skip
    await database.dispose()
    return f"/api/alerts/alertmanager/{secret}", component.id


def _payload(fingerprint: str, status: str, started: str) -> dict[str, Any]:
    alert = {
        "status": status, "labels": {"alertname": "WithdrawalsFailing", "service": "wallet",
        "instance": fingerprint}, "annotations": {}, "startsAt": started,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else started,
        "fingerprint": fingerprint,
    }  # fmt: skip
    return {"version": "4", "status": status, "receiver": "statuspage", "groupKey": "{}:{}",
            "alerts": [alert]}  # fmt: skip


async def _shown_down(reader: httpx.AsyncClient, component_id: int) -> bool:
    summary = (await reader.get("/api/v2/summary.json")).json()
    return any(
        c["id"] == str(component_id) and c["status"] == "major_outage"
        for c in summary["components"]
    )


async def rounds(
    base: str, hook: str, control: str, component_id: int, *, count: int
) -> list[tuple[float, float]]:
    """(seconds to summary.json, seconds to the subscriber's webhook) per round."""
    from datetime import UTC, datetime

    found = []
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as sender,
        httpx.AsyncClient(base_url=base, timeout=30) as reader,
        httpx.AsyncClient(base_url=control, timeout=60) as receiver,
    ):
        delivered = (await receiver.get("/_stats")).json()["total"]
        for n in range(count):
            started = datetime.now(UTC).isoformat()
            began = time.monotonic()
            fired = await sender.post(hook, json=_payload(f"r{n}", "firing", started))
            assert fired.json()["alerts"][0]["decision"] == "announced", fired.text
            while not await _shown_down(reader, component_id):  # noqa: ASYNC110 - polls HTTP
                await asyncio.sleep(0.02)
            shown = time.monotonic() - began
            got = await receiver.get(f"/_wait?count={delivered + 1}&since={delivered}")
            arrived = got.json()["arrivals"][0] - began
            found.append((shown, arrived))
            resolved = await sender.post(hook, json=_payload(f"r{n}", "resolved", started))
            assert resolved.json()["alerts"][0]["decision"] == "resolved_incident", resolved.text
            # the resolution's webhook too, before the next round counts its own
            await receiver.get(f"/_wait?count={delivered + 2}")
            delivered += 2
    return found


async def storm(base: str, hook: str, *, count: int, seconds: float) -> dict[str, Any]:
    """`count` firing alerts (distinct fingerprints, one component) sent at an even pace
    over `seconds`, each its own POST; what came back."""
    from datetime import UTC, datetime

    started = datetime.now(UTC).isoformat()
    codes: dict[int, int] = {}
    decisions: dict[str, int] = {}
    latencies: list[float] = []
    incidents: set[int] = set()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as sender:

        async def one(n: int) -> None:
            at = time.monotonic()
            answer = await sender.post(hook, json=_payload(f"s{n}", "firing", started))
            latencies.append(time.monotonic() - at)
            codes[answer.status_code] = codes.get(answer.status_code, 0) + 1
            if answer.status_code == 200:
                for decided in answer.json()["alerts"]:
                    decisions[decided["decision"]] = decisions.get(decided["decision"], 0) + 1
                    if decided["incident_id"] is not None:
                        incidents.add(decided["incident_id"])

        began = time.monotonic()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n * seconds / count - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        took = time.monotonic() - began
    return {"codes": codes, "decisions": decisions, "incidents": len(incidents),
            "latencies": latencies, "took": took}  # fmt: skip


def _ms(values: list[float], q: float) -> str:
    return f"{fanout._quantile(values, q) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--storm", type=int, default=1_000)
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHE_POLL_SECONDS": "1"}
    with tempfile.TemporaryDirectory() as folder, fanout.receiver("http") as (_pid, ports):
        url = args.database_url or f"sqlite:///{Path(folder) / 'alerts.db'}"
        control = f"http://127.0.0.1:{ports[0]}"
        hook, component_id = asyncio.run(prepare(url, webhook=control))
        server_env = {**env, "DATABASE_URL": url, "PUBLIC_URL": "http://127.0.0.1",
                      "ALLOW_PRIVATE_WEBHOOK_HOSTS": "true"}  # fmt: skip
        process, base = outage.start_server(server_env)
        try:
            found = asyncio.run(rounds(base, hook, control, component_id, count=args.rounds))
            stormed = asyncio.run(storm(base, hook, count=args.storm, seconds=args.storm_seconds))
        finally:
            outage.stop_server(process)
    report(args, url, found, stormed)


def report(
    args: argparse.Namespace, url: str, found: list[tuple[float, float]], stormed: dict[str, Any]
) -> None:
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    shown, delivered = [f[0] for f in found], [f[1] for f in found]
    print(f"\n{backend}; {args.rounds} rounds, each an Alertmanager firing then its resolution")
    print(f"to summary.json showing the component: p50 {_ms(shown, 0.5)}, p99 {_ms(shown, 0.99)},"
          f" max {max(shown) * 1000:.0f} ms")  # fmt: skip
    print(f"to the subscriber's webhook delivered: p50 {_ms(delivered, 0.5)},"
          f" p99 {_ms(delivered, 0.99)}, max {max(delivered) * 1000:.0f} ms")  # fmt: skip
    latencies = stormed["latencies"]
    five = sum(n for code, n in stormed["codes"].items() if code >= 500)
    print(f"\nstorm: {args.storm} alerts in {stormed['took']:.1f} s (asked {args.storm_seconds} s)")
    print(f"status codes: {stormed['codes']}; 5xx: {five}")
    print(f"decisions: {stormed['decisions']}; incidents opened or joined: {stormed['incidents']}")
    print(f"POST latency: p50 {_ms(latencies, 0.5)}, p99 {_ms(latencies, 0.99)},"
          f" mean {statistics.fmean(latencies) * 1000:.0f} ms")  # fmt: skip
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
