"""The static export: every public URL written as a file holding the live app's exact bytes."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import brotli
import httpx
import pytest
from sqlalchemy import select, update

from incidents import flows
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.models import Incident, IncidentUpdate
from incidents.schemas import IncidentOpen, ResolveIn
from statuspage.app import StatusApp, create_app
from statuspage.cli import demo
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.export.folder import ExportFolderError, write_site
from statuspage.export.run import ContinuousExport
from statuspage.export.snapshot import Snapshot, snapshot
from statuspage.public.cache import PublicCache
from statuspage.site import Site
from tests import demo_site

API = "/api/staff"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite:///unused-in-tests.db",
        cache_poll_seconds=0,
        run_worker=False,
        run_scheduler=False,
        public_url="https://status.exchange.example",
        site_name="Exchange",
        time_zone="Asia/Shanghai",
        export_dir=str(tmp_path / "site"),
    )


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[StatusApp]:
    async with database.sessionmaker() as session, session.begin():
        await demo.load(session, actor_id=None)
    made = create_app(settings, database=database)
    yield made
    await made.running.cache.close()


@pytest.fixture
async def live(app: StatusApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _export(settings: Settings, database: Database) -> Snapshot:
    """As `statuspage export` does: a cache of its own, not the live app's."""
    return await snapshot(PublicCache(database, Site.from_settings(settings), poll_interval=0))


async def test_every_exported_file_holds_the_bytes_the_live_app_serves_at_its_url(
    settings: Settings, database: Database, live: httpx.AsyncClient
) -> None:
    site = await _export(settings, database)
    assert len(site.pages) == demo_site.EXPORTED_FILES
    assert len({page.path for page in site.pages}) == len(site.pages)
    for page in site.pages:
        if not page.url:
            continue
        answer = await live.get(page.url)
        assert answer.status_code == 200, page.url
        assert answer.content == page.entry.body, page.url
        assert answer.headers["content-type"] == page.header("content-type"), page.url
    missing = await live.get("/incidents/nosuchcode?lang=zh-CN")
    exported = next(p for p in site.pages if p.path == "_lang/zh-CN/404.html")
    assert (missing.status_code, missing.content) == (404, exported.entry.body)


async def test_the_folder_holds_each_page_with_gzip_and_brotli_siblings(
    settings: Settings, database: Database, live: httpx.AsyncClient, tmp_path: Path
) -> None:
    site = await _export(settings, database)
    build = write_site(tmp_path / "site", site)
    current = tmp_path / "site" / "current"
    assert current.resolve() == build
    home = (await live.get("/", headers={"Accept-Language": "zh-CN"})).content
    assert (current / "_lang" / "zh-CN" / "index.html").read_bytes() == home
    assert gzip.decompress((current / "_lang" / "zh-CN" / "index.html.gz").read_bytes()) == home
    assert brotli.decompress((current / "_lang" / "zh-CN" / "index.html.br").read_bytes()) == home
    summary = (await live.get("/api/v2/summary.json")).content
    assert (current / "api" / "v2" / "summary.json").read_bytes() == summary
    english = (await live.get("/history.rss")).content
    assert (current / "history.rss").read_bytes() == english  # the default language on top
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == [".builds", "current"]
    # The web server's Last-Modified is the public version's time, as the live app says.
    stamp = (current / "index.html").stat().st_mtime
    assert stamp == site.updated_at.timestamp()


async def test_a_new_export_links_what_did_not_change_and_switches_in_one_rename(
    settings: Settings,
    database: Database,
    live: httpx.AsyncClient,
    support: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    root = Path("site")  # as EXPORT_DIR=site would give it
    first = write_site(root, await _export(settings, database))
    listed = (await live.get(f"{API}/incidents?status=identified", headers=support)).json()
    resolved = await live.post(
        f"{API}/incidents/{listed[0]['id']}/resolve",
        json={"body": "Deposits are credited normally again."},
        headers=support,
    )
    assert resolved.status_code == 200, resolved.text
    second = write_site(root, await _export(settings, database))
    assert (root / "current").resolve() == second
    assert first.exists()  # a reader may still be reading the previous build
    css = Path("static", "site.css")
    assert os.stat(first / css).st_ino == os.stat(second / css).st_ino
    home = Path("index.html")
    assert os.stat(first / home).st_ino != os.stat(second / home).st_ino
    # The demo's one open incident resolved, what remains is its hard fork under way.
    assert b"<h1>Service Under Maintenance</h1>" in (second / home).read_bytes()
    assert b"<h1>Partially Degraded Service</h1>" in (first / home).read_bytes()
    old = time.time() - 3600
    for build in (first, second):  # both over a minute old: only the previous one stays
        os.utime(build, (old, old))
    third = write_site(root, await _export(settings, database))
    assert sorted(b.name for b in (root / ".builds").iterdir() if b.is_dir()) == sorted(
        [second.name, third.name]
    )


async def test_an_export_never_replaces_a_folder_it_did_not_make(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    (tmp_path / "site" / "current").mkdir(parents=True)
    (tmp_path / "site" / "current" / "mine.txt").write_text("keep me")
    with pytest.raises(ExportFolderError, match="not the symlink an export makes"):
        write_site(tmp_path / "site", await _export(settings, database))
    assert (tmp_path / "site" / "current" / "mine.txt").read_text() == "keep me"


async def test_history_pages_are_exported_as_far_back_as_the_live_app_links(
    settings: Settings, database: Database, live: httpx.AsyncClient, support: dict[str, str]
) -> None:
    last_year = utcnow().replace(day=15, hour=6) - timedelta(days=400)
    body = {"name": "Last year", "body": "Slow.", "display_at": last_year.isoformat()}
    opened = await live.post(f"{API}/incidents", json=body, headers=support)
    assert opened.status_code == 201, opened.text
    site = await _export(settings, database)
    pages = {p.url: p for p in site.pages if urlsplit(p.url).path == "/history"}
    numbers = sorted(int(parse_qs(urlsplit(url).query).get("page", ["1"])[0]) for url in pages)
    last = numbers[-1]
    assert last > 1, "an incident 400 days ago is beyond the first history page"
    assert numbers == sorted([*range(1, last + 1)] * 3)  # English, Chinese, and the default
    for url, exported in pages.items():
        live_page = await live.get(url)
        assert live_page.content == exported.entry.body, url
        number = int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
        has_older = f"/history?page={number + 1}".encode() in live_page.content
        assert has_older == (number != last), url
    assert b"Last year" in pages[f"/history?page={last}"].entry.body


async def test_with_export_dir_a_change_is_exported_within_two_seconds(
    app: StatusApp, live: httpx.AsyncClient, support: dict[str, str], settings: Settings
) -> None:
    exporter = app.running.exporter
    assert exporter is not None
    home = Path(settings.export_dir) / "current" / "index.html"
    exporter.start()
    try:
        await _until(lambda: home.exists(), seconds=10)
        assert b"Partially Degraded Service" in home.read_bytes()
        listed = (await live.get(f"{API}/incidents?status=identified", headers=support)).json()
        await live.post(
            f"{API}/incidents/{listed[0]['id']}/resolve",
            json={"body": "Deposits are credited normally again."},
            headers=support,
        )
        changed_at = time.monotonic()
        # the incident resolved, what the banner tells of is the maintenance under way
        banner = b"<h1>Service Under Maintenance</h1>"
        await _until(lambda: banner in home.read_bytes(), seconds=2)
        assert time.monotonic() - changed_at < 2
        assert home.read_bytes() == (await live.get("/")).content
    finally:
        # Closed when idle: after the change's partial export comes a whole one, and a cancel
        # amid its reads left the test's connection, with its write lock on the worker's
        # SQLite file, to the next test ("database is locked" at its first write).
        try:
            await _until(lambda: _idle(exporter), seconds=30)
        finally:  # however the test or the wait ended, the exporter stops
            await exporter.close()


def _idle(exporter: ContinuousExport) -> bool:
    """Its last export was a whole one and no change waits: it is waiting for the next."""
    done = exporter.exported
    return done is not None and not done.partial and not exporter._wanted.is_set()


async def _old_incidents(database: Database, count: int) -> None:
    """Resolved incidents from a year ago, more than the public state keeps (it keeps 50)."""
    long_ago = utcnow() - timedelta(days=365)
    async with database.sessionmaker() as session, session.begin():
        for number in range(count):
            actor = Actor(staff_id=None, default_language="en", now=long_ago)
            data = {"name": f"Old incident {number}", "body": "Slow deposits."}
            opened = await flows.open_incident(
                session, data=IncidentOpen.model_validate(data), actor=actor
            )
            await flows.resolve_incident(
                session,
                incident_id=opened.id,
                data=ResolveIn.model_validate({"body": "Fixed."}),
                actor=dataclasses.replace(actor, now=long_ago + timedelta(hours=1)),
            )
            long_ago -= timedelta(days=1)
        # As if written back then: rows carry the time they were written, not the one shown.
        old = select(Incident.id).where(Incident.name.startswith("Old incident"))
        await session.execute(
            update(Incident).where(Incident.id.in_(old)).values(updated_at=long_ago)
        )
        await session.execute(
            update(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(old))
            .values(updated_at=long_ago)
        )


async def test_a_change_first_exports_what_it_touched_then_the_whole_site(
    app: StatusApp,
    live: httpx.AsyncClient,
    support: dict[str, str],
    settings: Settings,
    database: Database,
) -> None:
    await _old_incidents(database, 55)
    exporter = app.running.exporter
    assert exporter is not None
    first = await _exported(exporter, whole=True)
    async with database.sessionmaker() as session:
        named = await session.scalars(
            select(Incident).where(Incident.name.in_(["Old incident 54", "Old incident 53"]))
        )
        old = {incident.name: incident for incident in named}
    edited, untouched = old["Old incident 54"], old["Old incident 53"]
    written = await live.put(
        f"{API}/incidents/{edited.id}/postmortem",
        json={"body": "A full disk stopped the deposit scanner."},
        headers=support,
    )
    assert written.status_code == 200, written.text
    partial = await _exported(exporter, whole=False)
    assert exporter.exported is not None and exporter.exported.partial
    # The public state holds the newest 50 incidents; of the 8 older ones only 1 was edited.
    assert len(exporter.exported.pages) == demo_site.EXPORTED_FILES - 3 + 3 * 56 - 3 * 7
    page = Path("incidents", f"{edited.shortlink}.html")
    assert b"A full disk stopped the deposit scanner." in (partial / page).read_bytes()
    assert (partial / page).read_bytes() == (await live.get(f"/{page.with_suffix('')}")).content
    kept = Path("incidents", f"{untouched.shortlink}.html")
    assert os.stat(partial / kept).st_ino == os.stat(first / kept).st_ino
    whole = await _exported(exporter, whole=True)
    for path, url in [(page, f"/{page.with_suffix('')}"), (Path("index.html"), "/")]:
        assert (whole / path).read_bytes() == (await live.get(url)).content
    site = (await _export(settings, database)).pages
    assert sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*.html")) == sorted(
        p.path for p in site if p.path.endswith(".html")
    )


async def test_server_workers_sharing_a_folder_export_one_at_a_time(
    app: StatusApp, settings: Settings, database: Database
) -> None:
    """`serve --workers 4` with EXPORT_DIR: four processes see each change; one exports it."""
    other = ContinuousExport(
        PublicCache(database, Site.from_settings(settings), poll_interval=0),
        Path(settings.export_dir),
    )
    exporter = app.running.exporter
    assert exporter is not None
    done = await asyncio.gather(exporter.export(whole=True), other.export(whole=True))
    assert sum(build is not None for build in done) == 1
    assert len(list((Path(settings.export_dir) / ".builds").glob("v*[0-9]"))) == 1
    assert await other.export(whole=True) is not None  # free again once the first is done


async def _exported(exporter: ContinuousExport, *, whole: bool) -> Path:
    build = await exporter.export(whole=whole)
    assert build is not None
    return build


async def _until(check: Callable[[], bool], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.02)


async def test_the_network_matrix_is_exported_in_each_language(
    settings: Settings, database: Database, live: httpx.AsyncClient
) -> None:
    pages = {page.path: page for page in (await _export(settings, database)).pages}
    for language in ("en", "zh-CN"):
        document = pages[f"_lang/{language}/api/networks.json"]
        assert document.url == f"/api/networks.json?lang={language}"
        assert json.loads(document.entry.body)["language"] == language
        html = pages[f"_lang/{language}/networks.html"]
        assert html.entry.body == (await live.get(f"/networks?lang={language}")).content
    assert pages["api/networks.json"].url == "/api/networks.json"
    assert pages["networks.html"].url == "/networks"
    # The demo's open incident slows BTC deposits: the matrix says so, in Chinese too.
    chinese = json.loads(pages["_lang/zh-CN/api/networks.json"].entry.body)
    btc = next(row for row in chinese["networks"] if row["asset"] == "BTC")
    assert (btc["network"], btc["deposit"]["state"], btc["deposit"]["reason"]) == (
        "Bitcoin",
        "delayed",
        "BTC 充值到账缓慢",
    )
    assert btc["withdrawal"]["state"] == "open"
    # Every asset on every network the demo lists, by asset then network.
    assert [(row["asset"], row["network"]) for row in chinese["networks"]] == [
        ("BNB", "BEP20"),
        ("BTC", "Bitcoin"),
        ("ETH", "ERC20"),
        ("SOL", "Solana"),
        ("TRX", "TRC20"),
        ("USDC", "ERC20"),
        ("USDC", "Solana"),
        ("USDT", "BEP20"),
        ("USDT", "ERC20"),
        ("USDT", "Solana"),
        ("USDT", "TRC20"),
    ]
    # The hard fork under way on BNB Smart Chain stops both ways of both its assets.
    suspended = {
        (row["asset"], way)
        for row in chinese["networks"]
        for way in ("deposit", "withdrawal")
        if row[way]["state"] == "suspended"
    }
    assert suspended == {
        (asset, way) for asset in ("BNB", "USDT") for way in ("deposit", "withdrawal")
    }
    bnb = chinese["networks"][0]["withdrawal"]
    assert (bnb["enabled"], bnb["reason"]) == (False, "BNB 智能链硬分叉")
