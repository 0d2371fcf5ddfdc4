"""The sign-in limits under attack: concurrent guesses, many addresses, many made-up emails."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents.common.staff import Staff, StaffRole
from statuspage.access import staff_accounts
from statuspage.app import create_app
from statuspage.config import Settings
from tests.conftest import Fresh
from tests.statuspage.console_helpers import add_staff, csrf_of

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
