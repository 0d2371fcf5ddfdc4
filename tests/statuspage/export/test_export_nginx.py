"""The exported site under a real nginx (Debian's) answers as the live app does, and keeps
answering when the app and its database are gone."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests import demo_site
from tests.nginx_server import nginx_binary, running_nginx
from tests.servers import free_port, run_cli, serve_command, wait_until_up

pytestmark = pytest.mark.nginx

# Dynamic: the subscription form needs the app (proxy it to the app; see the README).
_DYNAMIC = ("/subscribe",)
_LINK = re.compile(rb'(?:href|src)="(/[^"#]*)"')
_VERSIONED = re.compile(r"/static/[a-z]+\.[a-z]+\?v=[0-9a-f]{10}")


@dataclass
class Served:
    live: str
    static: str
    token: str
    folder: Path
    app: subprocess.Popen[bytes]
    env: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def nginx() -> str:
    """Debian's nginx: missing, it skips on a laptop but fails in CI."""
    binary = nginx_binary()
    if binary is None:
        message = "nginx is missing: scripts/ensure-nginx installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def served(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo served by `statuspage serve` with EXPORT_DIR set, and nginx on the export."""
    folder = tmp_path_factory.mktemp("exported")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "TIME_ZONE": "Asia/Shanghai",
        "SITE_NAME": "CoinPort",
        "PUBLIC_URL": "https://status.coinport.example",
        "EXPORT_DIR": str(folder / "site"),
        "RUN_WORKER": "false",
    }
    token = run_cli(env, "demo").split("shown once): ")[1].strip()
    port = free_port()
    with (folder / "app.log").open("w") as log:
        app = subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            live = f"http://127.0.0.1:{port}"
            wait_until_up(live)
            _wait_for(lambda: (folder / "site" / "current").exists(), seconds=20)
            with running_nginx(folder / "site" / "current", folder / "nginx") as static:
                yield Served(live, static, token, folder, app, env)
        finally:
            app.terminate()
            app.wait(timeout=10)


def _wait_for(check: object, *, seconds: float) -> float:
    """Waits until `check()` is true; returns the seconds it took."""
    assert callable(check)
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


def _same(served: Served, url: str, headers: dict[str, str] | None = None) -> bool:
    live = httpx.get(served.live + url, headers=headers, timeout=5)
    static = httpx.get(served.static + url, headers=headers, timeout=5)
    return (live.status_code, live.content) == (static.status_code, static.content)


def _exported_urls(current: Path) -> set[str]:
    """Every file of the export, as the URL a reader asks for it."""
    urls = set()
    for path in current.rglob("*"):
        relative = path.relative_to(current).as_posix()
        not_found = relative.endswith("404.html") or relative.startswith("_api/")
        if path.is_dir() or relative.endswith((".gz", ".br")) or not_found:
            continue
        language = None
        if relative.startswith("_lang/"):
            _, language, relative = relative.split("/", 2)
        url = "/" + relative.removesuffix(".html")
        url = {"/index": "/"}.get(url, url)
        page = re.fullmatch(r"/history/page-(\d+)", url)
        query = [f"page={page.group(1)}"] if page else []
        url = "/history" if page else url
        query += [f"lang={language}"] if language else []
        urls.add(url + ("?" + "&".join(query) if query else ""))
    return urls


def _crawl(base: str, starts: list[str]) -> set[str]:
    """Every same-site URL the live pages link to, following links from `starts`."""
    seen, queue = set(starts), list(starts)
    while queue:
        url = queue.pop()
        answer = httpx.get(base + url, timeout=5)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        for link in _LINK.findall(answer.content):
            found = urljoin(url, link.decode())
            if urlsplit(found).path.startswith(_DYNAMIC) or found in seen:
                continue
            seen.add(found)
            queue.append(found)
    return seen


def test_every_public_url_gives_the_same_body_from_nginx_as_from_the_app(
    served: Served,
) -> None:
    _wait_for(lambda: _same(served, "/api/v2/summary.json") and _same(served, "/"), seconds=5)
    exported = _exported_urls(served.folder / "site" / "current")
    linked = _crawl(served.live, ["/", "/?lang=zh-CN"])
    # The static files are exported under their bare names; pages link them by hash (?v=).
    assert {u for u in linked - exported if not _VERSIONED.fullmatch(u)} == set()
    assert len(exported) == demo_site.EXPORTED_URLS
    for url in sorted(exported | linked):
        live = httpx.get(served.live + url, timeout=5)
        static = httpx.get(served.static + url, timeout=5)
        assert live.status_code == 200, url
        assert (static.status_code, static.content) == (200, live.content), url
        assert static.headers["content-type"] == live.headers["content-type"], url
        for name in SECURITY_HEADERS:
            assert static.headers.get(name) == live.headers.get(name), (url, name)
    # Any site may frame the notices frame, from nginx as from the app; no other page.
    assert "x-frame-options" not in httpx.get(served.static + "/embed", timeout=5).headers
    for missing in ("/incidents/nosuchcode", "/components/9999/history.rss?lang=zh-CN"):
        assert _same(served, missing), missing
        live = httpx.get(served.live + missing, timeout=5)
        static = httpx.get(served.static + missing, timeout=5)
        for name in SECURITY_HEADERS:
            assert static.headers[name] == live.headers[name], (missing, name)


@pytest.mark.parametrize("path", ["/api/v2/nope.json", "/api/v2/subscribers.json", "/api/nope"])
def test_an_unknown_api_path_is_the_apps_json_404_from_nginx_too(served: Served, path: str) -> None:
    origin = {"Origin": "https://wallet.example"}
    static = httpx.get(served.static + path, headers=origin, timeout=5)
    live = httpx.get(served.live + path, headers=origin, timeout=5)
    assert (static.status_code, static.content) == (404, live.content)
    assert static.json() == {"error": {"code": "not_found", "message": "Not Found", "field": None}}
    assert static.headers["content-type"] == live.headers["content-type"] == "application/json"
    assert static.headers["access-control-allow-origin"] == "*"
    for name in SECURITY_HEADERS:
        assert static.headers[name] == live.headers[name], (path, name)
    elsewhere = httpx.get(served.static + "/nope", timeout=5)  # the site's own page, still
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"].startswith("text/html")


SECURITY_HEADERS = [
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
]


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "zh-CN"),
        ({"Accept-Language": "fr-FR, en-GB;q=0.8, zh;q=0.5"}, "en"),
        ({"Accept-Language": "zh-TW"}, "zh-CN"),
        ({"Accept-Language": "de"}, "en"),
        ({"Cookie": "lang=zh-CN"}, "zh-CN"),
        ({"Cookie": "theme=dark; lang=en", "Accept-Language": "zh-CN"}, "en"),
        ({}, "en"),
    ],
)
def test_nginx_picks_the_language_the_app_picks(
    served: Served, headers: dict[str, str], language: str
) -> None:
    code = _incident_codes(served)[0]
    for url in ("/", "/history", f"/incidents/{code}"):
        static = httpx.get(served.static + url, headers=headers, timeout=5)
        assert f'<html lang="{language}">' in static.text, url
        assert static.headers["content-language"] == language
        assert _same(served, url, headers), url


def test_a_lang_link_is_remembered_in_a_cookie_as_the_app_does(served: Served) -> None:
    static = httpx.get(served.static + "/?lang=zh-CN", headers={"Accept-Language": "en"})
    live = httpx.get(served.live + "/?lang=zh-CN", headers={"Accept-Language": "en"})
    assert static.headers["set-cookie"] == live.headers["set-cookie"]
    assert static.content == live.content
    assert '<html lang="zh-CN">' in static.text


def test_nginx_sends_the_precompressed_file_to_gzip_readers(served: Served) -> None:
    current = served.folder / "site" / "current"
    raw = httpx.get(served.static + "/", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert raw.headers["content-encoding"] == "gzip"
    stored = (current / "_lang" / "en" / "index.html.gz").read_bytes()
    assert int(raw.headers["content-length"]) == len(stored)
    assert gzip.decompress(stored) == httpx.get(served.live + "/", timeout=5).content
    plain = httpx.get(served.static + "/", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "content-encoding" not in plain.headers


def test_a_change_in_the_app_reaches_nginx_within_two_seconds(served: Served) -> None:
    listed = httpx.get(
        f"{served.live}/api/staff/incidents?status=identified", headers=served.headers, timeout=5
    ).json()
    assert b"<h1>Partially Degraded Service</h1>" in httpx.get(served.static + "/").content
    resolved = httpx.post(
        f"{served.live}/api/staff/incidents/{listed[0]['id']}/resolve",
        json={"body": "Deposits are credited normally again."},
        headers=served.headers,
        timeout=5,
    )
    assert resolved.status_code == 200, resolved.text
    home = served.folder / "site" / "current" / "_lang" / "en" / "index.html"
    # The incident resolved, the demo's hard fork under way is what the banner says.
    banner = b"<h1>Service Under Maintenance</h1>"
    exported = _wait_for(lambda: banner in home.read_bytes(), seconds=2)
    assert exported < 2
    # nginx keeps open files for up to a second (open_file_cache_valid 1s in the config).
    served_in = _wait_for(lambda: banner in httpx.get(served.static + "/").content, seconds=1.2)
    assert exported + served_in < 3
    assert _same(served, "/")
    _wait_for(lambda: _same(served, "/api/v2/incidents/unresolved.json"), seconds=1.2)


def test_readers_during_a_stream_of_changes_get_whole_pages_only(served: Served) -> None:
    """Each change swaps in a whole new build while nginx is being read: no half pages."""
    stop = threading.Event()
    seen: set[bytes] = set()
    broken: list[bytes] = []

    def read() -> None:
        with httpx.Client(base_url=served.static, timeout=5) as client:
            while not stop.is_set():
                for url in ("/", "/api/v2/summary.json"):
                    body = client.get(url, headers={"Accept-Encoding": "gzip"}).content
                    whole = body.rstrip().endswith(b"</html>") if url == "/" else _is_json(body)
                    if whole:
                        seen.add(body)
                    else:
                        broken.append(body)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        opened = httpx.post(
            f"{served.live}/api/staff/incidents",
            json={"name": "Trading engine restarts", "body": "Orders may be delayed."},
            headers=served.headers,
            timeout=5,
        )
        assert opened.status_code == 201, opened.text
        for number in range(6):
            posted = httpx.post(
                f"{served.live}/api/staff/incidents/{opened.json()['id']}/updates",
                json={"status": "identified", "body": f"Progress note {number}."},
                headers=served.headers,
                timeout=5,
            )
            assert posted.status_code == 201, posted.text
            time.sleep(0.4)
        time.sleep(1.5)
    finally:
        stop.set()
        reader.join(timeout=10)
    assert broken == []
    assert len(seen) >= 4  # the reader saw several versions come and go
    _wait_for(lambda: _same(served, "/"), seconds=3)
    assert b"Progress note 5." in httpx.get(served.static + "/").content


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def test_the_export_command_writes_the_same_files_as_the_continuous_export(
    served: Served,
) -> None:
    printed = run_cli(served.env, "export", str(served.folder / "once"))
    # The demo's files, and 3 for the incident the test above opened.
    exported = demo_site.EXPORTED_FILES + 3
    assert printed.startswith(f"export: {exported} files of public version ")
    continuous = served.folder / "site" / "current"
    once = served.folder / "once" / "current"
    files = sorted(p.relative_to(once) for p in once.rglob("*") if p.is_file())
    assert len(files) == exported * 3  # each with its .gz and .br
    assert files == sorted(p.relative_to(continuous) for p in continuous.rglob("*") if p.is_file())
    for name in files:
        assert (once / name).read_bytes() == (continuous / name).read_bytes(), name


def test_with_the_app_and_database_stopped_page_api_and_feeds_still_answer(
    served: Served,
) -> None:
    code = _incident_codes(served)[0]
    urls = [
        "/",
        "/?lang=zh-CN",
        f"/incidents/{code}",
        "/history",
        "/api/v2/summary.json",
        "/api/v2/incidents/unresolved.json",
        "/history.rss?lang=zh-CN",
        "/history.atom",
        "/maintenance.ics",
        "/badge.svg",
    ]
    before = {url: httpx.get(served.live + url, timeout=5).content for url in urls}
    served.app.terminate()
    served.app.wait(timeout=10)
    (served.folder / "status.db").rename(served.folder / "status.db.gone")
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.live + "/", timeout=2)
    for url in urls:
        static = httpx.get(served.static + url, timeout=5)
        assert (static.status_code, static.content) == (200, before[url]), url


def _incident_codes(served: Served) -> list[str]:
    listed = httpx.get(f"{served.live}/api/v2/incidents.json", timeout=5).json()
    return [incident["shortlink"].rsplit("/", 1)[-1] for incident in listed["incidents"]]
