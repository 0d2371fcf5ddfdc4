"""The sign-in limits under attack: concurrent guesses, many addresses, many made-up emails."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
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
from tests.statuspage.console_helpers import add_staff, code_now, csrf_of, sign_in

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
        assert (await sign_in(admin, "admin@example.com", code=code_now(1))).status_code == 303


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


# -- a browser that signed in before is not locked out by others' failures ----------------


async def _known_browser(client: httpx.AsyncClient, email: str) -> None:
    """Signs in once (the browser is then known for this account) and out again."""
    signed = await sign_in(client, email)
    assert signed.status_code == 303, signed.text
    csrf = csrf_of((await client.get("/staff/password")).text)
    assert (await client.post("/staff/logout", data={"csrf": csrf})).status_code == 303


async def test_made_up_emails_from_one_address_do_not_lock_a_known_browser_out(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    await _known_browser(client, "admin@example.com")
    transport = client._transport  # the same address: 127.0.0.1
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as attacker:
        for number in range(30):
            wrong = await sign_in(attacker, f"made-up{number}@example.com", "guess")
            assert wrong.status_code == 401
        assert (await sign_in(attacker, "admin@example.com")).status_code == 429
    # The next step's code: the one of now signed the browser in already, and counts once.
    assert (await sign_in(client, "admin@example.com", code=code_now(1))).status_code == 303


async def test_guesses_from_many_addresses_count_for_the_account(
    behind_nginx: Behind, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    async with behind_nginx.client("198.51.100.7") as admin:
        await _known_browser(admin, "admin@example.com")
        answers = []
        for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"):
            async with behind_nginx.client(address) as attacker:
                for number in range(5):
                    guessed = await sign_in(attacker, "admin@example.com", f"guess {number}")
                    answers.append(guessed.status_code)
        assert answers == [401] * 10 + [429] * 10
        async with behind_nginx.client("192.0.2.44") as elsewhere:
            locked = await sign_in(elsewhere, "admin@example.com")
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this email. Try again in 15 minutes." in locked.text
        assert (await sign_in(admin, "admin@example.com", code=code_now(1))).status_code == 303


async def test_a_known_browser_has_its_own_limit(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    await add_staff(database, StaffRole.support, "agent@example.com")
    await _known_browser(client, "admin@example.com")
    for number in range(5):
        guessed = await sign_in(client, "admin@example.com", f"guess {number}")
        assert guessed.status_code == 401
    locked = await sign_in(client, "admin@example.com")
    assert locked.status_code == 429
    assert "Too many failed sign-ins from this browser. Try again in 15 minutes." in locked.text
    # It is known for the admin's account only: the agent's is counted as from anyone.
    assert (await sign_in(client, "agent@example.com")).status_code == 303


async def test_a_new_password_makes_the_browser_unknown_again(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin_id = await add_staff(database, StaffRole.admin, "admin@example.com")
    await _known_browser(client, "admin@example.com")
    async with database.sessionmaker() as session, session.begin():
        await staff_accounts.set_password(
            session, staff_id=admin_id, password="a new long password", actor_id=None
        )
    for number in range(5):
        assert (await sign_in(client, "admin@example.com", f"guess {number}")).status_code == 401
    assert (await sign_in(client, "admin@example.com", "a new long password")).status_code == 429


async def test_the_known_browser_cookie_is_scoped_to_the_sign_in_form(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    signed = await sign_in(client, "admin@example.com")
    cookies = signed.headers.get_list("set-cookie")
    [device] = [cookie for cookie in cookies if cookie.startswith("staff_device=")]
    assert "Path=/staff/login" in device
    assert "HttpOnly" in device
    assert "SameSite=strict" in device
    assert "Max-Age=7776000" in device  # 90 days


async def test_the_password_is_checked_beside_the_event_loop(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes a core for tens of milliseconds (seconds under load): on the event loop
    it would stop every page, and keep SQLite's write lock from being released meanwhile."""
    await add_staff(database, StaffRole.admin, "admin@example.com")
    threads: list[str] = []
    real = staff_accounts.password_matches

    def recording(staff: Staff | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(staff, password)

    monkeypatch.setattr(staff_accounts, "password_matches", recording)
    assert (await sign_in(client, "nobody@example.com")).status_code == 401
    assert (await sign_in(client, "admin@example.com")).status_code == 303
    assert [name.rpartition("_")[0] for name in threads] == ["password-check"] * 2
