"""Compensation at scale (issue 6): 1,000,000 fee events over 200,000 accounts, from upload to
the vouchers' CSV, through a real server process, on SQLite and on PostgreSQL.

    bash bench/run compensation                 (sets up, then runs this with its defaults)
    .venv/bin/python bench/vouchers.py --events 1000000 --accounts 200000 --backend both
    .venv/bin/python bench/vouchers.py --profile /tmp/prof   (cProfile inside the server)

Each backend gets a fresh database (SQLite: a new file; PostgreSQL: its `public` schema dropped
and made again), migrated by `statuspage migrate`, staff and tokens made by `statuspage staff
create` / `token create`, then the app served by granian (one worker, the same way
bench/run.py serves it) with RUN_WORKER=false and CREDIT_API_URL set, so issuing writes the
credit outbox rows a deployment with a credit API writes (nobody sends them). Through the staff
API: three components, an incident on two of them opened at 02:00 and resolved at 03:00 UTC, a
fee_refund policy (50%, USDT capped at 100, BTC minimum 0.000001), a draft batch. Then, timed
from this process over HTTP:

1. intake + draft: `POST .../events` with the CSV streamed in 1 MiB chunks; the server parses,
   filters, sums per (account, asset) and writes the priced lines before it answers;
2. approve: `POST .../approve` with a second finance user's token;
3. issue: `POST .../issue`;
4. export: `GET .../vouchers.csv`, streamed, rows counted.

The server's resident memory (its process tree, and the worker alone) is sampled every 20 ms.
The events are made by a seeded generator (the same file every run), which also works out what
the batch must pay, so each run checks the counts and the totals per asset to the last unit.

Baselines, measured in the same run on the same machine just before and just after each
backend's phases (their mean is used), with no server involved: the floor of each phase, what
the work costs with nothing of ours in the way.
  intake: Python's csv module reading the same file (and, for reference, reading it, parsing
          fee and time and summing per account and asset in a dict);
  issue:  one executemany of the same number of voucher rows (sqlite3, or psycopg) into a
          table of the vouchers' columns, one transaction;
  export: selecting those rows and writing them with csv.writer.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import platform
import pstats
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test_comp_bench"
COMP = "/api/staff/compensation"
DAY = datetime(2026, 11, 27, tzinfo=UTC)
OPENED, RESOLVED = DAY + timedelta(hours=2), DAY + timedelta(hours=3)
SCALES = {"BTC": 8, "ETH": 18, "USDT": 6}
POLICY = {
    "kind": "fee_refund",
    "percent": "50",
    "per_account_cap": {"USDT": "100"},
    "minimum_payout": {"BTC": "0.00000100"},
}
CAP_UNITS = {"USDT": 100 * 10**6}
MINIMUM_UNITS = {"BTC": 100}
TARGET_SECONDS, TARGET_MB = 60.0, 500.0


# -- the events ---------------------------------------------------------------------------


@dataclass
class Expected:
    """What the generator knows the batch must come to."""

    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    ineligible: int = 0
    paid_accounts: dict[str, int] = field(default_factory=dict)
    paid_units: dict[str, int] = field(default_factory=dict)
    bytes: int = 0

    @property
    def vouchers(self) -> int:
        return sum(self.paid_accounts.values())


def _units(rng: random.Random, asset: str, *, low: int, high: int) -> int:
    return int(rng.randrange(low, high) * 10 ** (SCALES[asset] - 8))


def _text(units: int, asset: str) -> str:
    scale = SCALES[asset]
    return f"{units // 10**scale}.{units % 10**scale:0{scale}d}"


def _bad_line(rng: random.Random, account: str, at: str) -> str:
    return rng.choice(
        [
            f"{account},BTC,-1,1,trade,Spot trading,{at}",
            f"{account},DOGE,1,1,trade,Spot trading,{at}",
            f"{account},USDT,1,1,trade,Spot trading,2026-11-27 02:30:00",
            f"{account},USDT,1,trade,Spot trading,{at}",
            f"{account},BTC,0.000000001,1,trade,Spot trading,{at}",
            f"{account},USDT,1,1,trade,Margin,{at}",
        ]
    )


def write_events(path: Path, *, events: int, accounts: int, seed: int = 6) -> Expected:
    """`events` lines of the platform's fee export, deterministic for a seed: ~5 per account,
    BTC/ETH/USDT, trades, withdrawals and deposits, 80% inside the incident window, one line in
    a thousand wrong. Returns what the batch must come to under POLICY."""
    rng = random.Random(seed)  # noqa: S311 - test data, the same every run
    expected = Expected()
    sums: dict[tuple[str, str], int] = {}
    window = int((RESOLVED - OPENED).total_seconds())
    shanghai = timedelta(hours=8)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("account_id,asset,fee,volume,kind,component,at\n")
        buffer = []
        for _ in range(events):
            account = f"acc-{rng.randrange(accounts):06d}"
            roll = rng.random()
            if roll < 0.8:
                at = OPENED + timedelta(seconds=rng.randrange(window))
            elif roll < 0.9:
                at = DAY + timedelta(seconds=rng.randrange(2 * 3600))
            else:
                at = RESOLVED + timedelta(seconds=rng.randrange(2 * 3600))
            stamp = (
                (at + shanghai).strftime("%Y-%m-%dT%H:%M:%S+08:00")
                if rng.random() < 0.1
                else at.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            if rng.random() < 0.001:
                buffer.append(_bad_line(rng, account, stamp))
                expected.rejected += 1
                continue
            roll = rng.random()
            asset = "BTC" if roll < 0.4 else "USDT" if roll < 0.8 else "ETH"
            if asset == "USDT":
                fee = rng.randrange(1, 30_000_000)
            else:
                fee = _units(rng, asset, low=1, high=50_000)
                if asset == "ETH":
                    fee += rng.randrange(10**10)  # all 18 decimals in use
            volume = fee * rng.randrange(500, 2000)
            roll = rng.random()
            kind = "trade" if roll < 0.7 else "withdrawal" if roll < 0.9 else "deposit"
            roll = rng.random()
            component, affected = (
                ("Spot trading", True)
                if roll < 0.55
                else ("spot trading", True)
                if roll < 0.6
                else ("2", True)
                if roll < 0.75
                else ("Futures", False)
            )
            buffer.append(
                f"{account},{asset},{_text(fee, asset)},{_text(volume, asset)},{kind},{component},{stamp}"
            )
            expected.accepted += 1
            if affected and kind != "deposit" and OPENED <= at < RESOLVED:
                sums[account, asset] = sums.get((account, asset), 0) + fee
            else:
                expected.ineligible += 1
            if len(buffer) >= 10_000:
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
        out.write("\n".join(buffer) + "\n" if buffer else "")
    expected.lines = events
    for (_account, asset), fees in sums.items():
        amount = min(fees // 2, CAP_UNITS.get(asset, fees))  # 50%, rounded down to the unit
        if amount > 0 and amount >= MINIMUM_UNITS.get(asset, 0):
            expected.paid_accounts[asset] = expected.paid_accounts.get(asset, 0) + 1
            expected.paid_units[asset] = expected.paid_units.get(asset, 0) + amount
    expected.bytes = path.stat().st_size
    return expected


# -- baselines ----------------------------------------------------------------------------


def floor_read(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as source:
        rows = sum(1 for _ in csv.reader(source))
    return time.perf_counter() - started, rows


def floor_sum(path: Path) -> tuple[float, int]:
    """Read, parse fee and time, and sum per (account, asset): the intake's arithmetic alone."""
    started = time.perf_counter()
    sums: dict[tuple[str, str], Decimal] = {}
    with path.open(newline="", encoding="utf-8") as source:
        rows = csv.reader(source)
        next(rows)
        for row in rows:
            if len(row) != 7:
                continue
            try:
                fee, at = Decimal(row[2]), datetime.fromisoformat(row[6])
            except ValueError:
                continue
            if at.tzinfo is not None and OPENED <= at < RESOLVED:
                key = (row[0], row[1])
                sums[key] = sums.get(key, Decimal(0)) + fee
    return time.perf_counter() - started, len(sums)


VOUCHER_TABLE = (
    "CREATE TABLE floor_vouchers (id INTEGER PRIMARY KEY, code VARCHAR(32) UNIQUE, "
    "batch_id INTEGER, incident_id INTEGER, policy_id INTEGER, account_id VARCHAR(64), "
    "asset VARCHAR(16), amount {money}, state VARCHAR(16), issued_at {time}, expires_at {time}, "
    "UNIQUE (incident_id, policy_id, account_id, asset))"
)


def _voucher_rows(count: int, *, postgres: bool) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    later = now + timedelta(days=90)
    rows = []
    for n in range(count):
        amount: Any = Decimal(n % 9973) / 10**6
        rows.append(
            (
                f"CODE-{n:012d}",
                1,
                1,
                1,
                f"acc-{n:07d}",
                "USDT",
                amount if postgres else format(amount, "f"),
                "issued",
                now if postgres else now.isoformat(),
                later if postgres else later.isoformat(),
            )
        )
    return rows


def _export(rows: Any) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
        if out.tell() > 1 << 20:
            out.seek(0)
            out.truncate()


def floor_sqlite(folder: Path, count: int) -> tuple[float, float]:
    rows = _voucher_rows(count, postgres=False)
    connection = sqlite3.connect(folder / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(VOUCHER_TABLE.format(money="VARCHAR(48)", time="DATETIME"))
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO floor_vouchers (code, batch_id, incident_id, policy_id, account_id, asset,"
        " amount, state, issued_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    connection.execute("COMMIT")
    written = time.perf_counter() - started
    started = time.perf_counter()
    _export(connection.execute("SELECT * FROM floor_vouchers ORDER BY id"))
    exported = time.perf_counter() - started
    connection.close()
    return written, exported


def floor_postgres(url: str, count: int) -> tuple[float, float]:
    import psycopg

    rows = _voucher_rows(count, postgres=True)
    with psycopg.connect(url) as connection:
        connection.execute("DROP TABLE IF EXISTS floor_vouchers")
        connection.execute(
            VOUCHER_TABLE.format(money="NUMERIC(38, 18)", time="TIMESTAMPTZ").replace(
                "id INTEGER PRIMARY KEY", "id SERIAL PRIMARY KEY"
            )
        )
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO floor_vouchers (code, batch_id, incident_id, policy_id, account_id,"
                " asset, amount, state, issued_at, expires_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                rows,
            )
        connection.commit()
        written = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor(name="export") as cursor:
            cursor.execute("SELECT * FROM floor_vouchers ORDER BY id")
            _export(cursor)
        exported = time.perf_counter() - started
        connection.execute("DROP TABLE floor_vouchers")
    return written, exported


def floors_of(label: str, url: str, events: Path, folder: Path, vouchers: int) -> dict[str, float]:
    read, _rows = floor_read(events)
    if label == "postgresql":
        write, export = floor_postgres(url, vouchers)
        what = "psycopg executemany"
    else:
        (folder / "floor.db").unlink(missing_ok=True)
        write, export = floor_sqlite(folder, vouchers)
        what = "sqlite3 executemany"
    print(
        f"baseline {label}: csv.reader reads the file in {read:.2f} s; {what} of {vouchers:,}"
        f" voucher rows, one transaction: {write:.2f} s; SELECT + csv.writer of them:"
        f" {export:.2f} s; load average now {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return {"read": read, "write": write, "export": export}


# -- the server and its memory ------------------------------------------------------------


def _rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    children = [int(child) for child in found.stdout.split()]
    return [pid, *[p for child in children for p in _descendants(child)]]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Samples the resident memory of a process tree every 20 ms; `mark()` starts a phase."""

    def __init__(self, root: int) -> None:
        self.pids = _descendants(root)
        self.phase = "setup"
        self.peaks: dict[str, tuple[float, float]] = {}  # phase -> (tree MB, largest MB)
        self.cpu: dict[str, float] = {}  # phase -> CPU seconds of the tree (user + system)
        self.cpu_mark = sum(_cpu_seconds(pid) for pid in self.pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            sizes = [_rss_kb(pid) / 1024 for pid in self.pids]
            tree, largest = self.peaks.get(self.phase, (0.0, 0.0))
            self.peaks[self.phase] = (max(tree, sum(sizes)), max(largest, max(sizes)))
            self.stop.wait(0.02)

    def mark(self, phase: str) -> None:
        """Starts a phase; the server's CPU seconds of the phase that ends are noted."""
        now = sum(_cpu_seconds(pid) for pid in self.pids)
        self.cpu[self.phase] = now - self.cpu_mark
        self.cpu_mark = now
        self.phase = phase

    def worker_hwm_mb(self) -> float:
        """The kernel's own high-water mark of the largest process (VmHWM)."""
        return max(_rss_kb(pid, "VmHWM") for pid in self.pids) / 1024

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "statuspage.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@contextmanager
def server(env: dict[str, str], *, target: str) -> Iterator[tuple[str, int]]:
    with _socket_port() as port:
        pass
    command = [
        PYTHON, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--log-level", "warning", "--factory", target,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield int(probe.getsockname()[1])


def profiled_app() -> Any:
    """The app, each compensation request run under cProfile (only with --profile): the stats
    go to $BENCH_PROFILE_DIR/<phase>.prof. Only the event loop's thread is profiled; time the
    database driver spends in its own thread shows as the loop waiting."""
    from sqlalchemy import event

    from statuspage.app import app_from_env

    app = app_from_env()
    folder = Path(os.environ["BENCH_PROFILE_DIR"])
    names = {"events": "intake", "approve": "approve", "issue": "issue", "vouchers.csv": "export"}
    statements: dict[str, list[float]] = {}  # the statement's start -> [calls, seconds]

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seconds = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        found = statements.setdefault(" ".join(statement.split())[:160], [0, 0.0])
        found[0] += 1
        found[1] += seconds

    engine = app.running.services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    async def profiled(scope: Any, receive: Any, send: Any) -> None:
        phase = (
            names.get(scope.get("path", "").rsplit("/", 1)[-1]) if scope["type"] == "http" else None
        )
        if phase is None:
            await app(scope, receive, send)
            return
        profile = cProfile.Profile()
        profile.enable()
        try:
            await app(scope, receive, send)
        finally:
            profile.disable()
            profile.dump_stats(folder / f"{phase}.prof")
            ranked = sorted(statements.items(), key=lambda item: -item[1][1])
            (folder / f"{phase}.sql.json").write_text(json.dumps(ranked, indent=1))
            statements.clear()

    return profiled


# -- one backend --------------------------------------------------------------------------


def fresh_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def _expect(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


def setup(client: httpx.Client, env: dict[str, str]) -> tuple[dict[str, str], dict[str, str], int]:
    """Staff and tokens by the CLI; components, incident, policy and batch by the staff API."""
    tokens = {}
    for email, role in (("admin@bench", "admin"), ("fin1@bench", "finance"), ("fin2@bench", "finance")):  # fmt: skip
        _cli(env, "staff", "create", "--email", email, "--name", email, "--role", role)
        tokens[email] = {
            "Authorization": f"Bearer {_cli(env, 'token', 'create', '--email', email)}"
        }
    admin, drafter, approver = tokens.values()
    ids = [
        _expect(client.post("/api/staff/components", json={"name": name}, headers=admin), 201)["id"]
        for name in ("Spot trading", "ETH withdrawals", "Futures")
    ]
    assert ids == [1, 2, 3], ids  # the generator writes component "2" for ETH withdrawals
    incident = _expect(
        client.post(
            "/api/staff/incidents",
            json={
                "name": "Matching engine halted",
                "body": "Orders are not matched; withdrawals are queued.",
                "display_at": OPENED.isoformat(),
                "components": {"1": "major_outage", "2": "partial_outage"},
            },
            headers=admin,
        ),
        201,
    )["id"]
    _expect(
        client.post(
            f"/api/staff/incidents/{incident}/resolve",
            json={"body": "Matching is back.", "display_at": RESOLVED.isoformat()},
            headers=admin,
        )
    )
    policy = _expect(
        client.post(
            f"{COMP}/policies",
            json={"name": "Refund half the fees", "rules": POLICY},
            headers=drafter,
        ),
        201,
    )["id"]
    batch = _expect(
        client.post(
            f"{COMP}/batches", json={"incident_id": incident, "policy_id": policy}, headers=drafter
        ),
        201,
    )["id"]
    return drafter, approver, int(batch)


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(size):
            yield chunk


def _units_of(amount: str, asset: str) -> int:
    return int(Decimal(amount).scaleb(SCALES[asset]))


def run_backend(
    label: str, url: str, events: Path, expected: Expected, folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "RUN_WORKER": "false",
        "RUN_SCHEDULER": "false",
        "CACHE_POLL_SECONDS": "0",
        "CREDIT_API_URL": "http://127.0.0.1:9/credits",  # outbox rows written, nobody sends
        "CREDIT_API_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    target = "statuspage.app:app_from_env"
    if args.profile:
        profile_dir = Path(args.profile) / label
        profile_dir.mkdir(parents=True, exist_ok=True)
        env["BENCH_PROFILE_DIR"] = str(profile_dir)
        target = "bench.vouchers:profiled_app"
    _cli(env, "migrate")
    result: dict[str, Any] = {"backend": label, "phases": {}}
    result["floor_write"] = (
        "psycopg executemany" if label == "postgresql" else "sqlite3 executemany"
    )
    with (
        server(env, target=target) as (base, pid),
        httpx.Client(base_url=base, timeout=900) as client,
    ):
        drafter, approver, batch_id = setup(client, env)
        memory = MemorySampler(pid)
        time.sleep(0.1)
        result["rss_idle"] = memory.peaks.get("setup", (0.0, 0.0))
        batch_url = f"{COMP}/batches/{batch_id}"
        phases = result["phases"]

        memory.mark("intake")
        started = time.perf_counter()
        report = _expect(
            client.post(
                f"{batch_url}/events",
                params={"source": "fees.csv"},
                content=_chunks(events),
                headers={
                    **drafter,
                    "content-type": "text/csv",
                    "content-length": str(expected.bytes),
                },
            )
        )
        phases["intake + draft"] = time.perf_counter() - started

        memory.mark("approve")
        started = time.perf_counter()
        approved = _expect(client.post(f"{batch_url}/approve", headers=approver))
        phases["approve"] = time.perf_counter() - started

        memory.mark("issue")
        started = time.perf_counter()
        issued = _expect(client.post(f"{batch_url}/issue", headers=drafter))
        phases["issue"] = time.perf_counter() - started

        memory.mark("export")
        started = time.perf_counter()
        rows, units, size = 0, dict.fromkeys(SCALES, 0), 0
        with client.stream("GET", f"{batch_url}/vouchers.csv", headers=drafter) as response:
            if response.status_code != 200:
                raise RuntimeError(f"vouchers.csv: {response.status_code}")
            lines = response.iter_lines()
            next(lines)
            for line in lines:
                if line:
                    rows += 1
                    fields = line.split(",")
                    units[fields[3]] += _units_of(fields[4], fields[3])
            size = response.num_bytes_downloaded
        phases["export"] = time.perf_counter() - started
        memory.mark("after")
        time.sleep(0.1)
        memory.close()
        result["rss"] = memory.peaks
        result["cpu"] = memory.cpu
        result["hwm"] = memory.worker_hwm_mb()
    totals = approved["totals"]
    checks = {
        "intake counts": (report["accepted"], report["rejected"], report["ineligible"])
        == (expected.accepted, expected.rejected, expected.ineligible),
        "draft totals": all(
            totals[asset]["accounts"] == expected.paid_accounts.get(asset, 0)
            and _units_of(totals[asset]["amount"], asset) == expected.paid_units.get(asset, 0)
            for asset in SCALES
        ),
        "issued": issued["state"] == "issued",
        "exported rows": rows == expected.vouchers,
        "exported amounts": all(units[a] == expected.paid_units.get(a, 0) for a in SCALES),
    }
    result.update(
        report={k: report[k] for k in ("accepted", "rejected", "ineligible", "lines")},
        rows=rows,
        export_bytes=size,
        checks=checks,
    )
    if args.profile:
        for phase in ("intake", "issue", "export"):
            stats_file = profile_dir / f"{phase}.prof"
            if stats_file.exists():
                print(f"\n== cProfile of the server, {label}, {phase} ==", file=sys.stderr)
                stats = pstats.Stats(str(stats_file), stream=sys.stderr)
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(40)
                print(
                    f"-- SQL of {phase}: calls, seconds (cursor.execute to its end) --",
                    file=sys.stderr,
                )
                for statement, (calls, seconds) in json.loads(
                    (profile_dir / f"{phase}.sql.json").read_text()
                )[:12]:
                    print(f"{calls:8d} {seconds:8.2f}  {statement}", file=sys.stderr)
    return result


# -- report -------------------------------------------------------------------------------


def report(result: dict[str, Any], floors: dict[str, float], expected: Expected) -> str:
    label, phases = result["backend"], result["phases"]
    events = expected.lines
    total = sum(phases.values())
    peak = max(tree for tree, _ in result["rss"].values())
    worker = max(largest for _, largest in result["rss"].values())
    floor_of = {
        "intake + draft": floors["read"],
        "approve": None,
        "issue": floors["write"],
        "export": floors["export"],
    }
    lines = [
        f"== {label}: {events:,} events, {result['report']['lines']:,} lines, "
        f"{result['rows']:,} vouchers ==",
        f"  {'phase':16} {'seconds':>8} {'events/s':>10} {'server CPU s':>12} {'peak RSS MB':>12} {'floor s':>8} {'x floor':>8}",
    ]
    for phase, seconds in phases.items():
        key = "intake" if phase.startswith("intake") else phase
        floor = floor_of[phase]
        rate = f"{events / seconds:10.0f}" if floor else f"{'':10}"
        lines.append(
            f"  {phase:16} {seconds:8.2f} {rate} {result['cpu'].get(key, 0.0):12.2f} "
            + (f"{result['rss'][key][0]:12.1f} " if key in result["rss"] else f"{'-':>12} ")
            + (f"{floor:8.2f} {seconds / floor:8.1f}" if floor else f"{'':8} {'':8}")
        )
    floor_total = floors["read"] + floors["write"] + floors["export"]
    lines += [
        f"  {'total':16} {total:8.2f} {events / total:10.0f}"
        f" {sum(result['cpu'].get(k, 0.0) for k in ('intake', 'approve', 'issue', 'export')):12.2f}"
        f" {peak:12.1f} {floor_total:8.2f}"
        f" {total / floor_total:8.1f}",
        f"  target <= {TARGET_SECONDS:g} s: {'met' if total <= TARGET_SECONDS else 'MISSED'};"
        f" peak RSS {peak:.1f} MB for the server's process tree ({worker:.1f} MB its largest"
        f" process, kernel high-water mark {result['hwm']:.1f} MB; "
        f"{result['rss_idle'][0]:.1f} MB idle before the upload),"
        f" target < {TARGET_MB:g} MB: {'met' if peak < TARGET_MB else 'MISSED'}",
        f"  intake: {result['report']['accepted']:,} accepted, {result['report']['rejected']:,}"
        f" rejected, {result['report']['ineligible']:,} ineligible; export "
        f"{result['export_bytes'] / 1e6:.1f} MB",
        "  checked against the generator: "
        + ", ".join(f"{name} {'ok' if ok else 'WRONG'}" for name, ok in result["checks"].items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--profile", metavar="DIR", help="cProfile each phase inside the server")
    args = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    print(
        f"machine: {platform.node()}, nproc {os.cpu_count()}, {cpu}, Python"
        f" {platform.python_version()}; load average {os.getloadavg()[0]:.2f} at the start"
        + (" (cProfile on: times are inflated)" if args.profile else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        events = folder / "fees.csv"
        started = time.perf_counter()
        expected = write_events(events, events=args.events, accounts=args.accounts)
        print(
            f"events: {expected.lines:,} lines, {expected.bytes / 1e6:.1f} MB, made in "
            f"{time.perf_counter() - started:.1f} s; the batch must pay {expected.vouchers:,} "
            f"account-asset lines",
            flush=True,
        )
        _read, rows = floor_read(events)  # warms the page cache
        read, rows = floor_read(events)
        summed, keys = floor_sum(events)
        print(
            f"baseline intake: csv.reader reads the file ({rows:,} rows) in {read:.2f} s;"
            f" reading + Decimal/fromisoformat + summing per (account, asset) into {keys:,}"
            f" keys: {summed:.2f} s",
            flush=True,
        )
        backends = {
            "sqlite": f"sqlite:///{folder / 'comp.db'}",
            "postgresql": args.postgres_url,
        }
        chosen = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for label in chosen:
            url = backends[label]
            if label == "postgresql":
                fresh_postgres(url)
            before = floors_of(label, url, events, folder, expected.vouchers)
            result = run_backend(label, url, events, expected, folder, args)
            after = floors_of(label, url, events, folder, expected.vouchers)
            floors = {name: (before[name] + after[name]) / 2 for name in before}
            print(
                f"baseline {label} (mean of before and after):"
                f" csv.reader {floors['read']:.2f} s, {result['floor_write']}"
                f" {floors['write']:.2f} s, SELECT + csv.writer {floors['export']:.2f} s",
                flush=True,
            )
            print(report(result, floors, expected), flush=True)
            print(f"  load average after: {os.getloadavg()[0]:.2f}", flush=True)
            print("  json: " + json.dumps({**result, "floors": floors}, default=str), flush=True)


if __name__ == "__main__":
    main()
