"""Crash loop: the real server killed with SIGKILL at random points, on SQLite and PostgreSQL.

    bash bench/run crashes                       (sets up, then runs this with its defaults)
    .venv/bin/python bench/crashes.py --rounds 12 --seed 1 --postgres URL

Each round takes a fresh database, starts `statuspage serve` with its delivery worker, and
kills the whole server process group with SIGKILL at a random point of one of three
operations (the scenarios in tests/crashes/, the same ones the test suite runs once each):

- write:   staff post updates one after another; the kill lands with one POST in flight;
- fan-out: an incident opened for many webhook subscribers; the kill lands mid-delivery;
- issue:   finance issues an approved batch; the kill lands after a random number of
           vouchers is committed and before the batch is issued.

After a restart it checks: every update whose POST got a 2xx is there and the one cut off is
there whole or not at all; the receiver got every (event, subscription) message by its
webhook-id, none missing, no distinct id beyond the outbox; one voucher per payable line and
account, each told to the credit API. The receiver is a real HTTP server on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from statuspage.db import connect, migrate  # noqa: E402
from tests.conftest import _scratch_postgres  # noqa: E402
from tests.crashes import (  # noqa: E402
    Outcome,
    crash_during_fan_out,
    crash_during_issue,
    crash_during_writes,
)
from tests.receivers import HttpReceiver, Reply  # noqa: E402

SCENARIOS = ("write", "fan-out", "issue")


async def one_round(url: str, scenario: str, rng: random.Random) -> Outcome:
    database = connect(url)
    await migrate(database)
    receiver = HttpReceiver().start()
    try:
        if scenario == "write":
            return await crash_during_writes(
                database, url, receiver, rng=rng, subscribers=rng.choice([20, 100, 300])
            )
        if scenario == "fan-out":
            receiver.default = Reply(200, delay=rng.choice([0.0, 0.005, 0.02]))
            return await crash_during_fan_out(
                database, url, receiver, rng=rng, subscribers=rng.choice([200, 500, 1000])
            )
        return await crash_during_issue(
            database, url, receiver, rng=rng, accounts=rng.choice([5000, 10_000])
        )
    finally:
        receiver.stop()
        await database.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=12, help="rounds per backend")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server; the loop makes its own database beside this one",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - kill points, not secrets
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    total = Outcome()
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("sqlite", "postgresql"):
            for number in range(args.rounds):
                scenario = SCENARIOS[number % len(SCENARIOS)]
                if backend == "sqlite":
                    url = f"sqlite:///{Path(folder) / f'crash-{number}.db'}"
                else:
                    url = await _scratch_postgres(args.postgres, "statuspage_bench_crashes")
                started = time.monotonic()
                outcome = await one_round(url, scenario, rng)
                total.add(outcome)
                print(
                    f"{backend:10} {scenario:8} {time.monotonic() - started:5.1f} s  lost "
                    f"{outcome.updates_lost + outcome.messages_lost}  duplicates "
                    f"{outcome.duplicates}  double vouchers {outcome.double_vouchers}  "
                    f"redelivered {outcome.redeliveries}  {'; '.join(outcome.notes)}",
                    flush=True,
                )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"runs: {2 * args.rounds}")
    print(f"crashes injected: {total.crashes}")
    print(f"updates lost: {total.updates_lost}")
    print(f"updates half-written: {total.updates_half_written}")
    print(f"messages lost: {total.messages_lost}")
    print(f"duplicates: {total.duplicates}")
    print(f"double vouchers: {total.double_vouchers}")
    print(f"redeliveries of the same webhook-id (allowed): {total.redeliveries}")
    print(f"notes: {len(total.notes)}")


if __name__ == "__main__":
    asyncio.run(main())
