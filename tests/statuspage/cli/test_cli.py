"""The `statuspage` command creates and migrates the database, loads the demo, makes tokens."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import SecondFactor, Staff
from statuspage.access import second_factor
from statuspage.access.totp import SecretBox, new_secret
from statuspage.app import create_app
from statuspage.cli.main import main
from statuspage.config import Settings
from statuspage.db import alembic_config, connect
from tests import demo_site


def test_demo_staff_and_token_on_a_fresh_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'status.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    assert main(["demo"]) == 0
    assert (tmp_path / "nested" / "status.db").exists()
    out = capsys.readouterr().out
    assert f"loaded a crypto platform with {demo_site.LOADED}" in out
    assert main(["demo"]) == 0
    assert "nothing loaded" in capsys.readouterr().out

    assert (
        main(["staff", "create", "--email", "Ops@Example.com", "--name", "Ops", "--role", "admin"])
        == 0
    )
    assert (
        main(["staff", "create", "--email", "ops@example.com", "--name", "Ops", "--role", "admin"])
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert main(["token", "create", "--email", "ops@example.com"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("sp_")

    async def read() -> tuple[int, list[str], int]:
        app = create_app(Settings(database_url=url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {token}"}
            incidents = await client.get("/api/staff/incidents", headers=headers)
            open_ones = await client.get("/api/staff/incidents?status=identified", headers=headers)
            audit = await client.get("/api/staff/audit?action=token.create", headers=headers)
        await app.running.services.database.dispose()
        return (
            len(incidents.json()),
            [item["name"] for item in open_ones.json()],
            len(audit.json()),
        )

    count, open_names, token_audits = asyncio.run(read())
    assert count == 3
    assert open_names == ["BTC deposits credited slowly"]
    assert token_audits == 2  # the demo's token and this one


def test_unknown_staff_for_a_token_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'status.db'}")
    assert main(["token", "create", "--email", "nobody@example.com"]) == 2
    assert "no staff account for nobody@example.com" in capsys.readouterr().err


def test_bad_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEFAULT_LANGUAGE", "fr")
    assert main(["migrate"]) == 2
    assert "DEFAULT_LANGUAGE" in capsys.readouterr().err


def test_export_writes_the_site_and_refuses_a_folder_it_did_not_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'status.db'}")
    assert main(["demo"]) == 0
    assert main(["export", str(tmp_path / "site")]) == 0
    assert f"export: {demo_site.EXPORTED_FILES} files of public version " in capsys.readouterr().out
    assert (tmp_path / "site" / "current" / "api" / "v2" / "summary.json").is_file()
    (tmp_path / "taken" / "current").mkdir(parents=True)
    assert main(["export", str(tmp_path / "taken")]) == 2
    assert "is not the symlink an export makes" in capsys.readouterr().err
    assert list((tmp_path / "taken").iterdir()) == [tmp_path / "taken" / "current"]


def test_a_platform_account_is_created_without_a_password_and_gets_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'status.db'}")
    create = ["staff", "create", "--email", "exchange@example.com", "--name", "Exchange"]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase here\n"))
    assert main([*create, "--role", "platform", "--password-stdin"]) == 2
    assert capsys.readouterr().err == (
        "error: a platform account has no password (it never signs in to the console):"
        " drop --password-stdin, then give it a token with"
        " `statuspage token create --email exchange@example.com`\n"
    )
    assert not (tmp_path / "status.db").exists()  # refused before anything was made
    assert main([*create, "--role", "platform"]) == 0
    assert capsys.readouterr().out == "created staff 1: exchange@example.com (platform)\n"
    assert main(["token", "create", "--email", "exchange@example.com", "--name", "redeem"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("sp_")
    assert "token for exchange@example.com (platform); it is shown once" in captured.err


def test_an_operator_resets_a_second_factor_when_every_admin_is_locked_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert (
        main(["staff", "create", "--email", "ops@example.com", "--name", "Ops", "--role", "admin"])
        == 0
    )

    async def enrol() -> None:
        database = connect(url)
        async with database.sessionmaker() as session, session.begin():
            staff = await session.scalar(select(Staff))
            assert staff is not None
            box = SecretBox(b"k" * 32)
            await second_factor.enrol(session, staff=staff, secret=new_secret(), step=0, box=box)
        await database.dispose()

    async def after() -> tuple[object, list[tuple[str, int | None]]]:
        database = connect(url)
        async with database.sessionmaker() as session:
            factor = await session.scalar(select(SecondFactor))
            rows = await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id).where(
                    AuditEntry.action.startswith("staff.second_factor")
                )
            )
            found = [(action, actor) for action, actor in rows]
        await database.dispose()
        return factor, found

    asyncio.run(enrol())
    capsys.readouterr()
    assert main(["staff", "reset-second-factor", "--email", "Ops@example.com"]) == 0
    assert capsys.readouterr().out == (
        "reset the second factor of ops@example.com: they enrol a new one at next sign-in\n"
    )
    assert main(["staff", "reset-second-factor", "--email", "ops@example.com"]) == 0
    assert capsys.readouterr().out == "ops@example.com has no second factor: nothing to reset\n"
    assert main(["staff", "reset-second-factor", "--email", "nobody@example.com"]) == 2
    assert "no staff account for nobody@example.com" in capsys.readouterr().err
    factor, audited = asyncio.run(after())
    assert factor is None
    assert audited == [("staff.second_factor.enrol", 1), ("staff.second_factor.reset", None)]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "statuspage.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_runs_as_a_module_shows_its_help_and_migrates(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'status.db'}"}
    shown = _cli("--help", env=env)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.startswith("usage: statuspage [-h]")
    assert (
        "{serve,worker,migrate,demo,export,staff,token,backup,restore,import,subscribers}"
        in shown.stdout
    )
    roles = _cli("staff", "create", "--help", env=env)
    assert "--role {support,finance,admin,platform}" in roles.stdout

    migrated = _cli("migrate", env=env)
    assert (migrated.returncode, migrated.stdout) == (0, "")
    with sqlite3.connect(tmp_path / "status.db") as connection:
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


# What each long-lived process imports first (serve's supervisor, serve's delivery child), and
# what it must not carry for as long as it lives (bench/memory.py measures what that saves).
LIGHT = {
    "statuspage.cli.main": ["sqlalchemy", "starlette", "pydantic", "granian", "alembic"],
    "statuspage.cli.serve": ["sqlalchemy", "starlette", "pydantic", "alembic"],
    "statuspage.cli.worker": [
        "starlette",
        "pydantic",
        "alembic",
        "statuspage.app",
        "statuspage.console",
    ],
}


@pytest.mark.parametrize("module", sorted(LIGHT))
def test_the_long_lived_processes_import_only_what_they_use(module: str) -> None:
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # noqa: S603 - a fresh interpreter of ours
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    imported = set(json.loads(done.stdout))
    assert sorted(name for name in LIGHT[module] if name in imported) == []
