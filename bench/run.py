"""The public-surface benchmark: our cached page, summary.json, RSS and the 304 path under wrk,
each as a ratio of a bare Starlette hello-world measured in the same run, on the same server.

    bash bench/run            (sets up, installs wrk if missing, builds the data, runs)
    .venv/bin/python bench/run.py --duration 10 --connections 256

Last, the memory of `statuspage serve`'s process tree after load (bench/memory.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Result:
    name: str
    requests_per_second: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(target: str, env: dict[str, str], *, factory: bool, workers: int) -> Iterator[str]:
    port = _free_port()
    command = [
        PYTHON, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        *(["--factory"] if factory else []), target,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


def rss_mb(port_base: str) -> tuple[float, float]:
    """Resident memory of the granian process tree at this base URL, in MB: the whole tree
    (supervisor + worker) and its largest process (the worker that holds the app)."""
    port = port_base.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True, check=False
    )
    pids = {tree_pid for pid in found.stdout.split() for tree_pid in [pid, *_children(pid)]}
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            match = re.search(r"VmRSS:\s+(\d+) kB", status.read_text())
            sizes.append(int(match.group(1)) / 1024 if match else 0.0)
    return sum(sizes), max(sizes, default=0.0)


def _children(pid: str) -> list[str]:
    found = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True, check=False)
    return found.stdout.split()


def wrk(name: str, url: str, *, args: argparse.Namespace, headers: list[str]) -> Result:
    _warm_up(url, headers)
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", "--timeout", "5s",
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(name, output)


def parse_wrk(name: str, output: str) -> Result:
    """Requests/s, p99 and errors (socket errors plus non-2xx/3xx) from `wrk --latency`."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = _millis(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(name, rate, p99, errors + (int(non_2xx.group(1)) if non_2xx else 0))


def _warm_up(url: str, headers: list[str]) -> None:
    """Two seconds of load first, so the measured run finds caches and connections warm."""
    command = ["wrk", "-t1", "-c32", "-d2s", url]
    for header in headers:
        command += ["-H", header]
    subprocess.run(command, capture_output=True, check=True)


def _millis(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def build_data(folder: Path) -> dict[str, str]:
    demo = f"sqlite:///{folder / 'demo.db'}"
    large = f"sqlite:///{folder / 'large.db'}"
    env = {**os.environ, "DATABASE_URL": demo}
    subprocess.run([PYTHON, "-m", "statuspage.cli", "demo"], env=env, check=True, cwd=ROOT)
    subprocess.run([PYTHON, str(ROOT / "bench" / "large.py"), large], check=True, cwd=ROOT)
    return {"demo": demo, "large (50 components, 500 incidents)": large}


def measure_page(base: str, label: str, args: argparse.Namespace) -> list[Result]:
    gzip = ["Accept-Encoding: gzip"]
    etag = httpx.get(base + "/", headers={"Accept-Encoding": "gzip"}).headers["etag"]
    return [
        wrk(f"{label}: /", base + "/", args=args, headers=gzip),
        wrk(
            f"{label}: /api/v2/summary.json", base + "/api/v2/summary.json", args=args, headers=gzip
        ),
        wrk(f"{label}: /history.rss", base + "/history.rss", args=args, headers=gzip),
        wrk(f"{label}: / 304", base + "/", args=args, headers=[*gzip, f"If-None-Match: {etag}"]),
    ]


def rerender_ms(url: str, rounds: int = 15) -> tuple[float, float]:
    """Median time to load the public state and render the home page after a change."""
    from statuspage.db import connect
    from statuspage.public import pages
    from statuspage.public.cache import RenderContext
    from statuspage.public.state import Site, load

    async def run() -> tuple[float, float]:
        database = connect(url)
        site = Site("Bench", "http://127.0.0.1", "Asia/Shanghai", "en")
        loads, renders = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            async with database.sessionmaker() as session:
                state = await load(session, site=site)
            loaded = time.perf_counter()
            await pages.home(RenderContext(state, "en", {}, database))
            loads.append(loaded - started)
            renders.append(time.perf_counter() - loaded)
        await database.dispose()
        return 1000 * statistics.median(loads), 1000 * statistics.median(renders)

    return asyncio.run(run())


def main() -> None:
    from bench import memory as tree_memory  # `memory` below is this run's RSS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHE_POLL_SECONDS": "1"}
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}")
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; granian, {args.workers} worker(s)"
    )
    with tempfile.TemporaryDirectory() as folder:
        databases = build_data(Path(folder))
        with server("bench.hello:app", env, factory=False, workers=args.workers) as base:
            first = wrk("hello-world (before)", base + "/", args=args, headers=[])
            hello_rss = rss_mb(base)
        rows = [first]
        memory = {"hello-world": hello_rss}
        for label, url in databases.items():
            with server("statuspage.app:app_from_env", {**env, "DATABASE_URL": url},
                        factory=True, workers=args.workers) as base:  # fmt: skip
                rows += measure_page(base, label, args)
                memory[label] = rss_mb(base)
        with server("bench.hello:app", env, factory=False, workers=args.workers) as base:
            last = wrk("hello-world (after)", base + "/", args=args, headers=[])
        rows.append(last)
        baseline = (first.requests_per_second + last.requests_per_second) / 2
        renders = {label: rerender_ms(url) for label, url in databases.items()}
    print(f"\nbaseline: hello-world, mean of a run before and after = {baseline:.0f} req/s")
    print(f"\n{'target':52} {'req/s':>9} {'× hello':>8} {'p99 ms':>8} {'errors':>7}")
    for row in rows:
        ratio = row.requests_per_second / baseline
        print(
            f"{row.name:52} {row.requests_per_second:9.0f} {ratio:8.2f} {row.p99_ms:8.1f} {row.errors:7d}"
        )
    print("\nmemory after load (RSS of the server process tree):")
    for label, (tree, worker) in memory.items():
        print(f"  {label:50} {tree:7.1f} MB in all, {worker:7.1f} MB the worker")
    print("\nre-render after a change (median: load public state + render the home page):")
    for label, (load_ms, render_ms) in renders.items():
        print(
            f"  {label:50} load {load_ms:6.1f} ms + render {render_ms:6.1f} ms = {load_ms + render_ms:6.1f} ms"
        )
    tree_memory.run(args)


if __name__ == "__main__":
    main()
