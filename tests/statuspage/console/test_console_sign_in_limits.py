"""The sign-in limits under attack: concurrent guesses, many addresses, many made-up emails."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents.common.staff import Staff, StaffRole
from statuspage.access import staff_accounts
from statuspage.app import StatusApp, create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.conftest import Fresh
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

GUESSES = 60


@pytest.fixture
async def real_client(settings: Settings, fresh: Fresh) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database of its own, whose sessions really run side by side (the
    `database` fixture's share one connection)."""
    app = create_app(settings, database=fresh.database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


async def test_concurrent_wrong_sign_ins_reach_the_password_check_at_most_the_limit(
    real_client: httpx.AsyncClient, fresh: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_staff(fresh.database, StaffRole.admin, "admin@example.com")
    checked: list[str] = []
    real = staff_accounts.password_matches

    def counting(staff: Staff | None, password: str) -> bool:
        checked.append(password)
        return real(staff, password)

    monkeypatch.setattr(staff_accounts, "password_matches", counting)
    csrf = csrf_of((await real_client.get("/staff/login")).text)
    answers = await asyncio.gather(
        *(
            real_client.post(
                "/staff/login",
                data={"csrf": csrf, "email": "admin@example.com", "password": f"guess {number}"},
            )
            for number in range(GUESSES)
        )
    )
    assert Counter(answer.status_code for answer in answers) == {401: 5, 429: GUESSES - 5}
    assert len(checked) == 5


# -- behind a proxy: each client its own address --------------------------------------------


@pytest.fixture
async def behind_nginx(settings: Settings, database: Database) -> AsyncIterator[Behind]:
    """The app as behind the README's nginx: every request comes from 127.0.0.1, with the
    client's address in X-Forwarded-For."""
    trusting = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))
    app = create_app(trusting, database=database)
    yield Behind(app, httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)))
    await app.running.cache.close()


@dataclasses.dataclass(frozen=True)
class Behind:
    app: StatusApp
    transport: httpx.ASGITransport

    def client(self, address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport,
            base_url="http://testserver",
            headers={"x-forwarded-for": address},
        )


async def test_behind_a_trusted_proxy_one_address_locks_only_itself(
    behind_nginx: Behind, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    async with behind_nginx.client("203.0.113.5") as attacker:
        for number in range(30):
            wrong = await sign_in(attacker, f"made-up{number}@example.com", "guess")
            assert wrong.status_code == 401
        assert (await sign_in(attacker, "admin@example.com")).status_code == 429
    async with behind_nginx.client("198.51.100.7") as admin:
        assert (await sign_in(admin, "admin@example.com")).status_code == 303


async def test_without_trusting_the_proxy_a_forged_header_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    for number in range(30):
        forged = {"x-forwarded-for": f"203.0.113.{number}"}
        client.headers.update(forged)
        assert (await sign_in(client, f"made-up{number}@example.com", "guess")).status_code == 401
    client.headers.update({"x-forwarded-for": "198.51.100.7"})
    assert (await sign_in(client, "made-up@example.com", "guess")).status_code == 429
