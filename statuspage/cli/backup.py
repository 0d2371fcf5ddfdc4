"""Backups: SQLite through its online backup API, PostgreSQL through pg_dump and pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def backup(url: str, target: Path) -> str:
    """Writes a consistent copy of the database at `url` to `target`, while it serves."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"{source} does not exist: nothing to back up")
        partial = target.with_name(target.name + ".partial")
        with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
            live.backup(copy)  # page by page, consistent even while the app writes
        partial.replace(target)
        return f"backed up {source} to {target} (SQLite online backup)"
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _libpq(url)])
    return f"backed up {parsed.database} to {target} (pg_dump custom format)"


def restore(url: str, source: Path, *, force: bool) -> str:
    """Puts the backup at `source` into the (empty, or with `force`, replaced) database."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = _sqlite_file(url)
        if _sqlite_has_data(target) and not force:
            raise BackupError(f"{target} already holds data; stop the app, then add --force")
        for stale in (target.with_name(target.name + suffix) for suffix in ("-wal", "-shm")):
            stale.unlink(missing_ok=True)
        with sqlite3.connect(source) as backup_file, sqlite3.connect(target) as live:
            backup_file.backup(live)
        return f"restored {source} into {target}"
    if _postgres_has_data(url) and not force:
        raise BackupError(f"{parsed.database} already holds data; stop the app, then add --force")
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq(url),
            str(source),
        ]
    )
    return f"restored {source} into {parsed.database}"


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database).expanduser()


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists():
        return False
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
    return bool(found and found[0])


def _postgres_has_data(url: str) -> bool:
    query = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'"
    output = _run(["psql", "--no-psqlrc", "--tuples-only", "--command", query, _libpq(url)])
    return output.strip() not in {"", "0"}


def _libpq(url: str) -> str:
    """The URL as libpq reads it: no SQLAlchemy driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    done = subprocess.run(  # noqa: S603 - fixed PostgreSQL client tools, arguments not shell-parsed
        command, capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")
    return done.stdout
