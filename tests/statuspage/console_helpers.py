"""Signing staff into the console through its own forms, for the console tests."""

from __future__ import annotations

import re

import httpx

from incidents.common.staff import StaffRole
from statuspage.access import staff_accounts, tokens
from statuspage.db import Database

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def add_staff(
    database: Database, role: StaffRole, email: str | None = None, password: str = PASSWORD
) -> int:
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
        return staff.id


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "next": ""},
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
