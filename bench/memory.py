"""Memory of `statuspage serve` after load: PSS and RSS of every process in its tree (the
supervisor, the web worker(s), the delivery child), beside a bare Starlette hello-world under
granian measured in the same run, with the throughput of `/` in the same run.

    bash bench/run memory            (sets up, installs wrk if missing, runs this)
    .venv/bin/python bench/memory.py --duration 5 --connections 256

PSS (proportional set size) counts a page shared by n processes as 1/n in each, so the tree's
PSS is what the tree costs the machine; RSS counts shared pages in full in every process.
Both are read from /proc/PID/smaps_rollup.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run as surfaces  # noqa: E402

GZIP = ["Accept-Encoding: gzip"]


@dataclass(frozen=True)
class Memory:
    role: str
    pid: int
    pss_mb: float
    rss_mb: float


def smaps_mb(pid: int) -> tuple[float, float]:
    """PSS and RSS of one process in MB, from /proc/PID/smaps_rollup."""
    sizes = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in {"Pss", "Rss"}:
            sizes[name] = int(rest.split()[0]) / 1024
    return sizes["Pss"], sizes["Rss"]


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def role(pid: int, supervisor: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    if pid == supervisor:
        return "supervisor"
    if b"statuspage.cli" in argv and argv[argv.index(b"statuspage.cli") + 1] == b"worker":
        return "delivery child"
    if any(b"resource_tracker" in part for part in argv):
        return "resource tracker"
    return "web worker"  # granian forks its workers from the supervisor


def tree(supervisor: int) -> list[Memory]:
    rows = []
    for pid in [supervisor, *descendants(supervisor)]:
        try:
            pss, rss = smaps_mb(pid)
            rows.append(Memory(role(pid, supervisor), pid, pss, rss))
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue
    return rows


def settled(supervisor: int, *, expected: int, seconds: float = 20) -> list[Memory]:
    """The tree once it has all its processes and its PSS stops moving (the delivery child
    starts after the supervisor prints, and imports while the load runs)."""
    deadline = time.monotonic() + seconds
    last = tree(supervisor)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = tree(supervisor)
        total = sum(row.pss_mb for row in now)
        if len(now) >= expected and abs(total - sum(row.pss_mb for row in last)) < 0.5:
            return now
        last = now
    return last


def supervisor_of(base: str) -> int:
    """The granian process `bench/run.py`'s server() started for this base URL."""
    port = base.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port} "], capture_output=True, text=True, check=False
    )
    pids = [int(pid) for pid in found.stdout.split()]
    return min(pids)  # the supervisor started first; its workers have later ids


def measure_hello(
    env: dict[str, str], args: argparse.Namespace
) -> tuple[surfaces.Result, list[Memory]]:
    with surfaces.server("bench.hello:app", env, factory=False, workers=args.workers) as base:
        result = surfaces.wrk("hello-world: /", base + "/", args=args, headers=[])
        return result, settled(supervisor_of(base), expected=1 + args.workers)


def measure_serve(
    env: dict[str, str], args: argparse.Namespace, folder: Path
) -> tuple[surfaces.Result, list[Memory]]:
    port = surfaces._free_port()
    server_env = {**env, "DATABASE_URL": f"sqlite:///{folder / 'memory.db'}"}
    command = [PYTHON, "-m", "statuspage.cli", "serve", "--demo", "--port", str(port),
               "--workers", str(args.workers)]  # fmt: skip
    process = subprocess.Popen(
        command, env=server_env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        surfaces._wait(base)
        result = surfaces.wrk("statuspage serve: /", base + "/", args=args, headers=GZIP)
        return result, settled(process.pid, expected=2 + args.workers)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def report(
    hello: tuple[surfaces.Result, list[Memory]], serve: tuple[surfaces.Result, list[Memory]]
) -> None:
    (hello_rate, hello_rows), (serve_rate, serve_rows) = hello, serve
    base = {row.role: row for row in hello_rows}
    like = {"delivery child": "web worker"}  # a bare process of the same Python and Starlette
    print("\n| process | PSS MB | RSS MB | PSS × hello | RSS × hello |\n|---|---:|---:|---:|---:|")
    for label, rows, against in (("hello-world", hello_rows, None), ("serve", serve_rows, base)):
        for row in rows:
            other = against.get(like.get(row.role, row.role)) if against else None
            ratios = (
                f"{row.pss_mb / other.pss_mb:.2f} | {row.rss_mb / other.rss_mb:.2f}"
                if other
                else "— | —"
            )
            print(f"| {label}: {row.role} | {row.pss_mb:.1f} | {row.rss_mb:.1f} | {ratios} |")
        pss, rss = sum(row.pss_mb for row in rows), sum(row.rss_mb for row in rows)
        hello_pss, hello_rss = (sum(row.pss_mb for row in hello_rows),
                                sum(row.rss_mb for row in hello_rows))  # fmt: skip
        print(
            f"| **{label}: the tree** | **{pss:.1f}** | {rss:.1f} "
            f"| {pss / hello_pss:.2f} | {rss / hello_rss:.2f} |"
        )
    print("\n| target | req/s | × hello-world | p99 ms | errors |\n|---|---:|---:|---:|---:|")
    for row in (hello_rate, serve_rate):
        ratio = row.requests_per_second / hello_rate.requests_per_second
        print(
            f"| {row.name} | {row.requests_per_second:.0f} | {ratio:.2f} | {row.p99_ms:.1f} "
            f"| {row.errors} |"
        )


def run(args: argparse.Namespace) -> None:
    """The measurement and its tables (also the last part of `bench/run.py`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHE_POLL_SECONDS": "1"}
    print(f"\nmemory after load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        hello = measure_hello(env, args)
        serve = measure_serve(env, args, Path(folder))
    report(hello, serve)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    run(args)


if __name__ == "__main__":
    main()
