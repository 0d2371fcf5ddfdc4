"""Signing staff into the console through its own forms, for the console tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from incidents.common.staff import Staff, StaffRole
from statuspage.access import second_factor, staff_accounts, tokens
from statuspage.access.totp import SecretBox, code_at, step_at
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.keys import load_site_key

PASSWORD = "correct horse battery staple"
# The authenticator of every test account whose role needs a second factor (admin, finance).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_KEY = re.compile(r'<code id="totp-key">([A-Z2-7 ]+)</code>')
_PENDING = re.compile(r'name="pending" value="([^"]+)"')
_RECOVERY = re.compile(r"<li>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</li>")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def code_now(offset: int = 0) -> str:
    """The test authenticator's code, `offset` steps from now."""
    return code_at(TOTP_SECRET, step_at(datetime.now(UTC)) + offset)


def wrong_code() -> str:
    """A six-digit code the test authenticator shows neither now nor a step either side."""
    near = {code_now(offset) for offset in range(-2, 3)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


async def enrol(database: Database, staff_id: int) -> list[str]:
    """Gives the account the test authenticator, as if enrolled a minute ago; returns its
    recovery codes."""
    async with database.sessionmaker() as session, session.begin():
        box = SecretBox(await load_site_key(session, Settings()))  # the tests' settings
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        before = step_at(datetime.now(UTC) - timedelta(minutes=1))
        return await second_factor.enrol(
            session, staff=staff, secret=TOTP_SECRET, step=before, box=box
        )


async def enrol_in_console(
    client: httpx.AsyncClient, next_path: str = "", password: str = PASSWORD
) -> tuple[str, list[str]]:
    """Enrols the signed-in person through the enrolment page, typing their password and the
    code of the key it shows; returns that key and the recovery codes shown once."""
    page = await client.get("/staff/second-factor")
    assert page.status_code == 200, page.text
    key, pending = _KEY.search(page.text), _PENDING.search(page.text)
    assert key is not None and pending is not None, page.text
    secret = key.group(1).replace(" ", "")
    answer = await client.post(
        "/staff/second-factor",
        data={
            "csrf": csrf_of(page.text),
            "pending": pending.group(1),
            "password": password,
            "code": code_at(secret, step_at(datetime.now(UTC))),
            "next": next_path,
        },
    )
    assert answer.status_code == 200, answer.text
    codes = _RECOVERY.findall(answer.text)
    assert len(codes) == 10, answer.text
    return secret, codes


async def add_staff(
    database: Database,
    role: StaffRole,
    email: str | None = None,
    password: str = PASSWORD,
    *,
    enrolled: bool | None = None,
) -> int:
    """A console account; enrolled with the test authenticator when its role needs a second
    factor by default (`enrolled` says otherwise)."""
    async with database.sessionmaker() as session, session.begin():
        staff = await tokens.create_staff(
            session,
            email=email or f"{role.value}@example.com",
            name=f"{role.value.title()} Person",
            role=role,
            actor_id=None,
        )
        await staff_accounts.set_password(
            session, staff_id=staff.id, password=password, actor_id=None
        )
    if enrolled or (enrolled is None and role in Settings().second_factor_roles()):
        await enrol(database, staff.id)
    return staff.id


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, *, code: str | None = None
) -> httpx.Response:
    """Through the sign-in form, and the code page after it when the account has a second
    factor (the test authenticator's code of now, unless `code` is given)."""
    page = await client.get("/staff/login")
    answer = await client.post(
        "/staff/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "next": ""},
    )
    if answer.status_code != 303 or not answer.headers["location"].startswith("/staff/login/code"):
        return answer
    asked = await client.get(answer.headers["location"])
    assert asked.status_code == 200, asked.text
    return await client.post(
        "/staff/login/code",
        data={"csrf": csrf_of(asked.text), "code": code or code_now(), "next": ""},
    )


async def signed_in(client: httpx.AsyncClient, database: Database, role: StaffRole) -> str:
    """Adds a staff member with `role`, signs them in and returns their CSRF token."""
    email = f"{role.value}@example.com"
    await add_staff(database, role, email)
    answer = await sign_in(client, email)
    assert answer.status_code == 303, answer.text
    return csrf_of((await client.get("/staff/password")).text)


async def add_components(database: Database, *names: str) -> dict[str, int]:
    from incidents.models import Component

    async with database.sessionmaker() as session, session.begin():
        made = [Component(name=name) for name in names]
        session.add_all(made)
        await session.flush()
        return {component.name: component.id for component in made}


_STATUS_SELECT = re.compile(r'<select name="status_(\d+)">(.*?)</select>', re.S)
_SELECTED = re.compile(r'<option value="(\w+)" selected>')


def chosen_statuses(html: str) -> dict[int, str]:
    """The status chosen in each component's select on a console form (not "not affected")."""
    found = {}
    for component_id, options in _STATUS_SELECT.findall(html):
        if chosen := _SELECTED.search(options):
            found[int(component_id)] = chosen.group(1)
    return found
