"""The static-export benchmark: how long a full export takes (demo, and demo + 500 incidents),
how soon a change is exported with EXPORT_DIR, and the exported page under nginx against nginx
serving a plain file (same bytes, no rules) in the same run, and against the live app.

    bash bench/run export            (sets up, installs wrk and nginx if missing, runs)
    .venv/bin/python bench/export.py --duration 10 --connections 256
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import Result, build_data, server, wrk  # noqa: E402
from tests.nginx_server import running_nginx  # noqa: E402
from tests.servers import free_port, run_cli  # noqa: E402

GZIP = ["Accept-Encoding: gzip"]


def export_seconds(url: str, target: Path) -> tuple[float, float]:
    """Wall time of `statuspage export` into a fresh folder, then again into the same one."""
    env = {**os.environ, "DATABASE_URL": url}
    times = []
    for _ in range(2):
        started = time.monotonic()
        printed = run_cli(env, "export", str(target))
        times.append(time.monotonic() - started)
        print(f"  {printed.strip()}")
    return times[0], times[1]


def change_to_export_seconds(url: str, folder: Path) -> float:
    """With EXPORT_DIR set: seconds from a staff change to the new build being `current`."""
    env = {**os.environ, "DATABASE_URL": url, "EXPORT_DIR": str(folder), "RUN_WORKER": "false"}
    run_cli(
        env, "staff", "create", "--email", "bench@example.com", "--name", "B", "--role", "support"
    )
    token = run_cli(env, "token", "create", "--email", "bench@example.com").strip()
    with server("statuspage.app:app_from_env", env, factory=True, workers=1) as base:
        current = folder / "current"
        _until(lambda: current.exists(), 60)
        time.sleep(1)
        before = current.resolve()
        body = {"name": "Bench: slow deposits", "body": "Looking into it."}
        answer = httpx.post(f"{base}/api/staff/incidents", json=body,
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
        answer.raise_for_status()
        started = time.monotonic()
        _until(lambda: current.resolve() != before, 60)
        return time.monotonic() - started


def _until(check: object, seconds: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.01)


def plain_server(plain: Path, port: int, *, cached: bool) -> str:
    """A bare nginx server block: one file, gzip_static, none of the export's rules; with
    `cached`, the same open_file_cache as the shipped config."""
    cache = "open_file_cache max=10000 inactive=60s; open_file_cache_valid 1s; " if cached else ""
    return (
        f"server {{ listen 127.0.0.1:{port}; root {plain}; gzip_static on; {cache}"
        "types { text/html html; } location / { } }"
    )


def serve_comparison(url: str, folder: Path, args: argparse.Namespace) -> list[Result]:
    site = folder / "site"
    run_cli({**os.environ, "DATABASE_URL": url}, "export", str(site))
    plain = folder / "plain"
    plain.mkdir()
    for name in ("index.html", "index.html.gz"):
        shutil.copyfile(site / "current" / "_lang" / "en" / name, plain / name)
    ports = free_port(), free_port()
    extra = plain_server(plain, ports[0], cached=False) + plain_server(plain, ports[1], cached=True)
    rows = []
    with running_nginx(site / "current", folder / "nginx", extra=extra) as base:
        bare, cached = (f"http://127.0.0.1:{port}/index.html" for port in ports)
        assert httpx.get(bare).content == httpx.get(base + "/").content
        for name, target in [
            ("nginx, plain file, defaults (before)", bare),
            ("nginx, plain file, open_file_cache (before)", cached),
            ("nginx, exported /", base + "/"),
            ("nginx, exported /?lang=zh-CN", base + "/?lang=zh-CN"),
            ("nginx, exported /api/v2/summary.json", base + "/api/v2/summary.json"),
            ("nginx, plain file, defaults (after)", bare),
            ("nginx, plain file, open_file_cache (after)", cached),
        ]:
            rows.append(wrk(name, target, args=args, headers=GZIP))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "RUN_WORKER": "false"}
    with server("statuspage.app:app_from_env", env, factory=True, workers=1) as live:
        rows.append(wrk("live app (granian, 1 worker), /", live + "/", args=args, headers=GZIP))
    return rows


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}")
    print(f"load average before: {_load()}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        databases = build_data(folder)
        print("\nfull export (statuspage export DIR, wall time incl. interpreter start):")
        for index, (label, url) in enumerate(databases.items()):
            first, again = export_seconds(url, folder / f"export-{index}")
            print(f"  {label:40} first {first:5.2f} s, again {again:5.2f} s")
        print("\nEXPORT_DIR: a staff change until the new build is current:")
        for index, (label, url) in enumerate(databases.items()):
            seconds = change_to_export_seconds(url, folder / f"continuous-{index}")
            print(f"  {label:40} {seconds:5.2f} s")
        demo = databases["demo"]
        rows = serve_comparison(demo, folder / "served", args)
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, gzip; nginx 1 worker")
    plain = (rows[0].requests_per_second + rows[5].requests_per_second) / 2
    print(f"{'target':46} {'req/s':>9} {'× plain':>8} {'p99 ms':>8} {'errors':>7}")
    for row in rows:
        ratio = row.requests_per_second / plain
        print(
            f"{row.name:46} {row.requests_per_second:9.0f} {ratio:8.2f} {row.p99_ms:8.1f} {row.errors:7d}"
        )
    print("(× plain: against the mean of the two runs of the plain file with nginx defaults)")
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
