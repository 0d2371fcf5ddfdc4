"""The second factor with server-side sessions and atomic limits: enrolment asks for the
password again, every change of the factor ends the other sessions on the server, the code
sign-in starts one, and concurrent wrong codes are counted before they are checked."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from incidents.common.staff import SecondFactor, StaffRole
from statuspage.access import second_factor
from statuspage.access.rate_limits import RateEvent
from statuspage.access.staff_sessions import StaffSession
from statuspage.access.totp import code_at, step_at
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.conftest import Fresh
from tests.statuspage.console_helpers import (
    PASSWORD,
    add_staff,
    code_now,
    csrf_of,
    enrol_in_console,
    sign_in,
    wrong_code,
)

GUESSES = 20


def _browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def _ended(database: Database, staff_id: int) -> list[bool]:
    """Whether each of the staff member's server sessions has ended, oldest first."""
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(StaffSession).where(StaffSession.staff_id == staff_id).order_by(StaffSession.id)
        )
        return [row.ended_at is not None for row in rows]


async def _enrol_with(client: httpx.AsyncClient, password: str) -> httpx.Response:
    page = (await client.get("/staff/second-factor")).text
    pending = page.split('name="pending" value="')[1].split('"')[0]
    return await client.post(
        "/staff/second-factor",
        data={"csrf": csrf_of(page), "pending": pending, "password": password, "code": "123456"},
    )


async def test_enrolment_asks_for_the_password_and_counts_a_wrong_one_as_a_failed_sign_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "mei@example.com")
    assert (await sign_in(client, "mei@example.com")).status_code == 303
    for _ in range(5):
        wrong = await _enrol_with(client, "not my password at all")
        assert wrong.status_code == 400
        assert "this is not your current password" in wrong.text
    limited = await _enrol_with(client, PASSWORD)  # even the right one, once the limit is full
    assert limited.status_code == 429
    assert "too many failed sign-ins: try again in 15 minutes" in limited.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(SecondFactor)) is None
        buckets = Counter((await session.scalars(select(RateEvent.bucket))).all())
    assert buckets == {"sign_in_address": 5, "sign_in_email": 5, "sign_in_account": 5}
    async with _browser(client) as other:  # the sign-in form counts the same failures
        locked = await sign_in(other, "mei@example.com")
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this email from your address." in locked.text


async def test_a_right_password_refunds_its_attempt_and_enrols(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "mei@example.com")
    assert (await sign_in(client, "mei@example.com")).status_code == 303
    await enrol_in_console(client)
    async with database.sessionmaker() as session:
        assert await session.scalar(select(RateEvent.bucket)) is None
        assert await session.scalar(select(SecondFactor.staff_id)) is not None


async def test_enrolling_and_removing_end_the_other_server_sessions_and_keep_this_one(
    client: httpx.AsyncClient, database: Database
) -> None:
    staff_id = await add_staff(database, StaffRole.support, "mei@example.com")
    assert (await sign_in(client, "mei@example.com")).status_code == 303
    async with _browser(client) as other:
        assert (await sign_in(other, "mei@example.com")).status_code == 303
        secret, recovery = await enrol_in_console(client)
        assert await _ended(database, staff_id) == [False, True]
        assert (await other.get("/staff/")).status_code == 303  # to the sign-in page
        assert (await client.get("/staff/")).status_code == 200
        next_step = code_at(secret, step_at(datetime.now(UTC)) + 1)  # enrolment used now's
        assert (await sign_in(other, "mei@example.com", code=next_step)).status_code == 303
        assert await _ended(database, staff_id) == [False, True, False]  # the code made one
        csrf = csrf_of((await client.get("/staff/second-factor")).text)
        removed = await client.post(
            "/staff/second-factor/remove", data={"csrf": csrf, "code": recovery[0]}
        )
        assert removed.status_code == 303, removed.text
        assert await _ended(database, staff_id) == [False, True, True]
        assert (await other.get("/staff/")).status_code == 303
        assert (await client.get("/staff/")).status_code == 200


async def test_an_admins_reset_ends_the_colleagues_server_sessions(
    client: httpx.AsyncClient, database: Database
) -> None:
    omar = await add_staff(database, StaffRole.finance, "omar@example.com")
    admin = await add_staff(database, StaffRole.admin, "admin@example.com")
    assert (await sign_in(client, "omar@example.com")).status_code == 303
    async with database.sessionmaker() as session, session.begin():
        await second_factor.reset(session, staff_id=omar, actor_id=admin)
    assert await _ended(database, omar) == [True]
    assert (await client.get("/staff/finance")).status_code == 303


async def test_signing_out_ends_a_code_sign_in_and_drops_a_pending_one(
    client: httpx.AsyncClient, database: Database
) -> None:
    staff_id = await add_staff(database, StaffRole.finance, "omar@example.com")
    assert (await sign_in(client, "omar@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/finance")).text)
    out = await client.post("/staff/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert any(
        cookie.startswith('staff_pending="";') and "Path=/staff/login" in cookie
        for cookie in out.headers.get_list("set-cookie")
    )
    assert await _ended(database, staff_id) == [True]


@pytest.fixture
async def real_client(settings: Settings, fresh: Fresh) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database of its own, whose sessions really run side by side."""
    app = create_app(settings, database=fresh.database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


async def test_concurrent_wrong_codes_reach_the_check_at_most_the_limit(
    real_client: httpx.AsyncClient, fresh: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_staff(fresh.database, StaffRole.finance, "omar@example.com")
    page = await real_client.get("/staff/login")
    answer = await real_client.post(
        "/staff/login",
        data={"csrf": csrf_of(page.text), "email": "omar@example.com", "password": PASSWORD},
    )
    assert answer.headers["location"].startswith("/staff/login/code")
    csrf = csrf_of((await real_client.get(answer.headers["location"])).text)
    checked: list[str] = []
    real = second_factor.check

    async def counting(session: object, **kwargs: object) -> object:
        checked.append(str(kwargs["code"]))
        return await real(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(second_factor, "check", counting)
    code = wrong_code()
    answers = await asyncio.gather(
        *(
            real_client.post("/staff/login/code", data={"csrf": csrf, "code": code})
            for _ in range(GUESSES)
        )
    )
    assert Counter(answer.status_code for answer in answers) == {401: 5, 429: GUESSES - 5}
    assert len(checked) == 5
    right = await real_client.post("/staff/login/code", data={"csrf": csrf, "code": code_now()})
    assert right.status_code == 429  # still locked: the failed codes stay counted
