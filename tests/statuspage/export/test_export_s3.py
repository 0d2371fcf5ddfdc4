"""`statuspage export s3://...` against a real local S3-compatible server (moto's server mode)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests import demo_site
from tests.servers import free_port, run_cli, serve_command, wait_until_up

pytestmark = pytest.mark.processes

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "export-test",
    "AWS_SECRET_ACCESS_KEY": "export-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with (tmp_path / "s3.log").open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - moto's own server, on loopback
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(base, timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the S3 server did not start"
                    time.sleep(0.1)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=10)


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def test_export_to_s3_stores_each_page_gzipped_with_its_live_headers(
    s3_server: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **CREDENTIALS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'status.db'}",
        "PUBLIC_URL": "https://status.coinport.example",
        "EXPORT_S3_ENDPOINT_URL": s3_server,
        "RUN_WORKER": "false",
        "RUN_SCHEDULER": "false",
    }
    run_cli(env, "demo")
    s3 = _client(s3_server)
    s3.create_bucket(Bucket="status")
    first = run_cli(env, "export", "s3://status/site")
    # as many as files in a folder
    assert f"s3://status/site/ ({demo_site.EXPORTED_FILES} objects sent" in first
    again = run_cli(env, "export", "s3://status/site")
    assert "s3://status/site/ (0 objects sent, the rest unchanged)" in again

    port = free_port()
    app = subprocess.Popen(serve_command(port), env=env)  # noqa: S603 - our own CLI
    try:
        live = f"http://127.0.0.1:{port}"
        wait_until_up(live)
        code = httpx.get(f"{live}/api/v2/incidents.json").json()["incidents"][0]["shortlink"]
        code = code.rsplit("/", 1)[-1]
        for key, url in [
            ("site/index.html", "/"),
            (f"site/incidents/{code}", f"/incidents/{code}"),
            (f"site/_lang/zh-CN/incidents/{code}", f"/incidents/{code}?lang=zh-CN"),
            ("site/api/v2/summary.json", "/api/v2/summary.json"),
            ("site/history.rss", "/history.rss"),
            ("site/maintenance.ics", "/maintenance.ics"),
        ]:
            stored = s3.get_object(Bucket="status", Key=key)
            answer = httpx.get(live + url)
            assert gzip.decompress(stored["Body"].read()) == answer.content, key
            assert stored["ContentEncoding"] == "gzip"
            assert stored["ContentType"] == answer.headers["content-type"], key
            assert stored["CacheControl"] == answer.headers["cache-control"], key
    finally:
        app.terminate()
        app.wait(timeout=10)
