"""Console sign-in: passwords, the session cookie, CSRF, the failure limit, sign-out."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import Staff, StaffRole
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.statuspage.console_helpers import PASSWORD, add_staff, csrf_of, sign_in, signed_in


async def test_the_console_sends_a_stranger_to_the_sign_in_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/staff/admin/audit")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?next=/staff/admin/audit"
    page = await client.get("/staff/login")
    assert page.status_code == 200
    assert "Staff sign-in" in page.text


async def test_signing_in_sets_a_cookie_scoped_to_the_console(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    answer = await sign_in(client, "Agent@Example.com")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("staff_session=")
    assert "Path=/staff" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # served over http here
    dashboard = await client.get("/staff/")
    assert dashboard.status_code == 200
    assert "Support Person (support)" in dashboard.text
    assert dashboard.headers["cache-control"] == "no-store"


async def test_over_https_the_cookie_is_secure(settings: Settings, database: Database) -> None:
    https = dataclasses.replace(settings, public_url="https://status.example.com")
    app = create_app(https, database=database)
    await add_staff(database, StaffRole.support, "agent@example.com")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        answer = await sign_in(client, "agent@example.com")
    await app.running.cache.close()
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


async def test_the_public_pages_set_no_session_cookie(
    client: httpx.AsyncClient, database: Database
) -> None:
    await signed_in(client, database, StaffRole.support)
    public = await client.get("/")
    assert public.status_code == 200
    assert "set-cookie" not in public.headers
    assert "staff_session" not in public.request.headers.get("cookie", "")


async def test_a_wrong_password_says_so_and_sets_no_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    answer = await sign_in(client, "agent@example.com", "not the password")
    assert answer.status_code == 401
    assert "The email or the password is wrong." in answer.text
    unknown = await sign_in(client, "nobody@example.com")
    assert unknown.status_code == 401
    assert "The email or the password is wrong." in unknown.text
    assert (await client.get("/staff/")).status_code == 303


async def test_five_failures_lock_the_email_from_that_address(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    for _ in range(5):
        assert (await sign_in(client, "agent@example.com", "guess")).status_code == 401
    locked = await sign_in(client, "agent@example.com")  # even the right password
    assert locked.status_code == 429
    assert (
        "Too many failed sign-ins for this email from your address. Try again in 15 minutes."
        in locked.text
    )
    await add_staff(database, StaffRole.finance, "other@example.com")
    assert (await sign_in(client, "other@example.com")).status_code == 303


async def test_sign_in_without_the_form_token_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    await client.get("/staff/login")
    answer = await client.post(
        "/staff/login", data={"csrf": "forged", "email": "agent@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert "The sign-in form had expired" in answer.text
    assert (await client.get("/staff/")).status_code == 303


async def test_a_deactivated_account_cannot_sign_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    async with database.sessionmaker() as session, session.begin():
        staff = await session.scalar(select(Staff).where(Staff.email == "agent@example.com"))
        assert staff is not None
        staff.active = False
    assert (await sign_in(client, "agent@example.com")).status_code == 401


async def _make_platform(database: Database, email: str) -> None:
    """A console user turned into the platform behind the app's back: the password hash
    and the session version stay, as a hand-edited row would leave them."""
    async with database.sessionmaker() as session, session.begin():
        staff = await session.scalar(select(Staff).where(Staff.email == email))
        assert staff is not None and staff.password_hash is not None
        staff.role = StaffRole.platform


async def test_a_platform_account_cannot_sign_in_even_with_a_password(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.finance, "exchange@example.com")
    await _make_platform(database, "exchange@example.com")
    answer = await sign_in(client, "exchange@example.com")
    assert answer.status_code == 401
    assert "The email or the password is wrong." in answer.text  # says no more than that
    assert (await client.get("/staff/")).status_code == 303


async def test_a_session_ends_when_its_account_becomes_the_platform(
    client: httpx.AsyncClient, database: Database
) -> None:
    await signed_in(client, database, StaffRole.finance)
    await _make_platform(database, "finance@example.com")
    answer = await client.get("/staff/finance")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?next=/staff/finance"
    assert (await client.get("/staff/login")).status_code == 200  # the form, not a redirect


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, database: Database) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    refused = await client.post("/staff/logout", data={"csrf": "wrong"})
    assert refused.status_code == 403
    assert "The form had expired" in refused.text
    answer = await client.post("/staff/logout", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?done=signed_out"
    assert (await client.get("/staff/")).status_code == 303


async def test_changing_the_password_signs_out_other_sessions(
    settings: Settings, client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        assert (await sign_in(other, "support@example.com")).status_code == 303
        short = await client.post(
            "/staff/password",
            data={"csrf": csrf, "current": PASSWORD, "new": "short", "confirm": "short"},
        )
        assert short.status_code == 400
        assert "a password needs at least 12 characters" in short.text
        wrong = await client.post(
            "/staff/password",
            data={
                "csrf": csrf,
                "current": "nope",
                "new": "a new long password",
                "confirm": "a new long password",
            },
        )
        assert wrong.status_code == 400
        assert "this is not your current password" in wrong.text
        changed = await client.post(
            "/staff/password",
            data={
                "csrf": csrf,
                "current": PASSWORD,
                "new": "a new long password",
                "confirm": "a new long password",
            },
        )
        assert changed.status_code == 303
        assert (await client.get("/staff/")).status_code == 200
        assert (await other.get("/staff/")).status_code == 303
    await client.post("/staff/logout", data={"csrf": csrf})
    assert (await sign_in(client, "support@example.com")).status_code == 401
    assert (await sign_in(client, "support@example.com", "a new long password")).status_code == 303
    async with database.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("staff.password") == 2  # set by the test, then changed
    assert actions.count("staff.sign_in") == 3


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
async def test_sign_in_never_redirects_off_the_console(
    client: httpx.AsyncClient, database: Database, target: str
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    page = await client.get("/staff/login")
    answer = await client.post(
        "/staff/login",
        data={
            "csrf": csrf_of(page.text),
            "email": "agent@example.com",
            "password": PASSWORD,
            "next": target,
        },
    )
    assert answer.headers["location"] == "/staff/"


async def test_failures_count_across_instances(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    other = create_app(settings, database=database)  # a second instance, one database
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        for number in range(5):
            instance = client if number % 2 else second
            assert (await sign_in(instance, "agent@example.com", "guess")).status_code == 401
        for instance in (client, second):
            assert (await sign_in(instance, "agent@example.com")).status_code == 429
    await other.running.cache.close()


async def test_one_address_trying_many_emails_is_stopped(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "agent@example.com")
    for number in range(30):
        assert (await sign_in(client, f"guess{number}@example.com", "guess")).status_code == 401
    locked = await sign_in(client, "agent@example.com")
    assert locked.status_code == 429
    assert "Too many failed sign-ins from your address. Try again in 15 minutes." in locked.text


@pytest.mark.processes
def test_the_cli_sets_a_password_from_stdin(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    command = [
        sys.executable,
        "-m",
        "statuspage.cli",
        "staff",
        "create",
        "--email",
        "a@example.com",
        "--name",
        "A",
        "--role",
        "support",
        "--password-stdin",
    ]
    short = subprocess.run(  # noqa: S603 - our own CLI
        command, env=env, input="short\n", text=True, capture_output=True, timeout=60, check=False
    )
    assert short.returncode == 2
    assert short.stderr == "error: a password needs at least 12 characters\n"
    made = subprocess.run(  # noqa: S603 - our own CLI
        command,
        env=env,
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created staff 1: a@example.com (support)")
    assert PASSWORD not in made.stdout + made.stderr
