"""Backup and restore with the real commands: a restored copy serves the same page and API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.access import tokens
from statuspage.app import create_app
from statuspage.cli import demo
from statuspage.config import Settings
from statuspage.db import Database, connect
from tests.conftest import TEST_DATABASE_URL, Fresh, _scratch_postgres

pytestmark = pytest.mark.processes

PAGES = ["/", "/api/v2/summary.json", "/history.rss", "/?lang=zh-CN"]


def statuspage(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "statuspage.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def served(database: Database) -> dict[str, bytes]:
    app = create_app(
        Settings(cache_poll_seconds=0, run_worker=False, run_scheduler=False), database=database
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return {path: (await client.get(path)).content for path in PAGES}
    finally:
        await app.running.cache.close()


async def test_a_backup_restored_into_an_empty_database_serves_the_same_page(
    fresh: Fresh, tmp_path: Path
) -> None:
    async with fresh.database.sessionmaker() as session, session.begin():
        staff = await tokens.create_staff(
            session, email="s@x.io", name="S", role=StaffRole.support, actor_id=None
        )
        await demo.load(session, actor_id=staff.id, language="en")
    before = await served(fresh.database)
    assert b"Withdrawals" in before["/"] or b"withdrawals" in before["/"]

    backup_file = tmp_path / "backup.dump"
    made = statuspage(fresh.url, "backup", str(backup_file))
    assert made.returncode == 0, made.stderr
    assert backup_file.stat().st_size > 10_000

    if fresh.url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        target = await _scratch_postgres(TEST_DATABASE_URL, f"statuspage_restore_{os.getpid()}")
    restored = statuspage(target, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    copy = connect(target)
    try:
        assert await served(copy) == before
    finally:
        await copy.dispose()

    again = statuspage(target, "restore", str(backup_file))
    assert again.returncode == 2
    assert "already holds data; stop the app, then add --force" in again.stderr
    forced = statuspage(target, "restore", "--force", str(backup_file))
    assert forced.returncode == 0, forced.stderr


def test_a_missing_backup_file_is_a_clear_error(tmp_path: Path) -> None:
    done = statuspage(f"sqlite:///{tmp_path / 'x.db'}", "restore", str(tmp_path / "nope.dump"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.dump'} does not exist"


def test_backing_up_nothing_is_refused(tmp_path: Path) -> None:
    done = statuspage(f"sqlite:///{tmp_path / 'none.db'}", "backup", str(tmp_path / "b.db"))
    assert done.returncode == 2
    assert "does not exist: nothing to back up" in done.stderr
