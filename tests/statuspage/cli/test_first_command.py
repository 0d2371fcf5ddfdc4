"""The first command a newcomer runs: the demo looks as the README shows it (CoinPort, in
Asia/Shanghai) unless the deployment says otherwise, and says where the console is and how to
sign in to it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from statuspage.access import staff_accounts
from statuspage.cli.main import main
from statuspage.config import Settings, demo_environment
from statuspage.db import connect


def test_the_demo_is_coinport_in_shanghai_unless_the_deployment_says_otherwise() -> None:
    demo = Settings.from_env(demo_environment({}))
    assert (demo.site_name, demo.time_zone) == ("CoinPort", "Asia/Shanghai")
    own = Settings.from_env(demo_environment({"SITE_NAME": "Acme", "TIME_ZONE": "UTC"}))
    assert (own.site_name, own.time_zone) == ("Acme", "UTC")
    assert Settings.from_env({}).site_name == "Status"  # outside the demo, nothing changes
    assert demo.site_names() == {"zh-CN": "币港"}  # its Chinese name goes with its own name
    assert own.site_names() == {}


def test_the_demo_prints_a_console_sign_in_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:8123")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "demo: staff console: http://127.0.0.1:8123/staff/" in out
    found = re.search(
        r"sign in as support@demo\.invalid with the password (\S+) \(shown once\)", out
    )
    assert found is not None, out
    assert "statuspage staff create --email you@example.com --name You --role admin" in out

    async def signs_in(password: str) -> bool:
        database = connect(url)
        try:
            async with database.sessionmaker() as session:
                staff = await staff_accounts.check_password(
                    session, email="support@demo.invalid", password=password
                )
            return staff is not None
        finally:
            await database.dispose()

    assert asyncio.run(signs_in(found.group(1)))
    assert not asyncio.run(signs_in("not the password"))
