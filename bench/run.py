"""The public-surface benchmark: our cached page, summary.json, RSS, the 304 path and the
notices an exchange's app polls, under wrk, each as a ratio of a bare Starlette hello-world
measured in the same run, on the same server.

    bash bench/run            (sets up, installs wrk if missing, builds the data, runs)
    bash bench/run notices    (only the hello-world and /api/notices.json on the demo)
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


def build_data(folder: Path, *, large: bool = True) -> dict[str, str]:
    demo = f"sqlite:///{folder / 'demo.db'}"
    env = {**os.environ, "DATABASE_URL": demo}
    subprocess.run([PYTHON, "-m", "statuspage.cli", "demo"], env=env, check=True, cwd=ROOT)
    if not large:
        return {"demo": demo}
    big = f"sqlite:///{folder / 'large.db'}"
    subprocess.run([PYTHON, str(ROOT / "bench" / "large.py"), big], check=True, cwd=ROOT)
    return {"demo": demo, "large (50 components, 500 incidents)": big}


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


def measure_notices(base: str, label: str, args: argparse.Namespace) -> list[Result]:
    """/api/notices.json?components=… for a withdraw screen: one component nothing touches
    (the few-byte answer) and the one the demo's open incident holds."""
    gzip = ["Accept-Encoding: gzip"]
    listed = httpx.get(base + "/api/v2/components.json").json()["components"]
    open_now = httpx.get(base + "/api/v2/incidents/unresolved.json").json()["incidents"]
    touched = {c["id"] for incident in open_now for c in incident["components"]}
    quiet = next(c["id"] for c in listed if not c["group"] and c["id"] not in touched)
    active = sorted(touched)[0]
    results = []
    for name, component in (("nothing active", quiet), ("one open incident", active)):
        url = f"{base}/api/notices.json?components={component}&lang=en"
        body = httpx.get(url, headers={"Accept-Encoding": "gzip"})
        assert body.status_code == 200, body.text
        count = len(body.json()["notices"])
        assert count == (0 if name == "nothing active" else 1), body.text
        results.append(wrk(f"{label}: /api/notices.json ({name})", url, args=args, headers=gzip))
    return results


def notices_only(args: argparse.Namespace, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        demo = build_data(Path(folder), large=False)["demo"]
        with server("bench.hello:app", env, factory=False, workers=args.workers) as base:
            rows = [wrk("hello-world (before)", base + "/", args=args, headers=[])]
        with server("statuspage.app:app_from_env", {**env, "DATABASE_URL": demo},
                    factory=True, workers=args.workers) as base:  # fmt: skip
            rows += measure_notices(base, "demo", args)
        with server("bench.hello:app", env, factory=False, workers=args.workers) as base:
            rows.append(wrk("hello-world (after)", base + "/", args=args, headers=[]))
    _table(rows)


def _table(rows: list[Result]) -> float:
    baseline = (rows[0].requests_per_second + rows[-1].requests_per_second) / 2
    print(f"\nbaseline: hello-world, mean of a run before and after = {baseline:.0f} req/s")
    print(f"\n{'target':60} {'req/s':>9} {'× hello':>8} {'p99 ms':>8} {'errors':>7}")
    for row in rows:
        ratio = row.requests_per_second / baseline
        print(
            f"{row.name:60} {row.requests_per_second:9.0f} {ratio:8.2f} {row.p99_ms:8.1f} {row.errors:7d}"
        )
    return baseline


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
    parser.add_argument("only", nargs="?", choices=["notices"], help="only the notices")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHE_POLL_SECONDS": "1"}
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}")
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; granian, {args.workers} worker(s)"
    )
    if args.only == "notices":
        notices_only(args, env)
        return
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
                if label == "demo":
                    rows += measure_notices(base, label, args)
                memory[label] = rss_mb(base)
        with server("bench.hello:app", env, factory=False, workers=args.workers) as base:
            last = wrk("hello-world (after)", base + "/", args=args, headers=[])
        rows.append(last)
        renders = {label: rerender_ms(url) for label, url in databases.items()}
    _table(rows)
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
