"""Every console page and form: who may use it, and that a POST needs this session's CSRF token.

The table below names the role of every console route; a route added without a row fails
`test_every_console_route_has_a_role`, so nothing new slips through unchecked."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Route

from incidents.common.staff import Staff, StaffRole
from statuspage.app import StaffRoutes, create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

SUPPORT, FINANCE, ADMIN, ANYONE = "support", "finance", "admin", "anyone"
ROLES = {
    "/staff/": ANYONE,
    "/staff/logout": ANYONE,
    "/staff/password": ANYONE,
    "/staff/second-factor": ANYONE,
    "/staff/incidents": SUPPORT,
    "/staff/maintenance": SUPPORT,
    "/staff/subscribers": SUPPORT,
    "/staff/scheduled": SUPPORT,
    "/staff/finance": FINANCE,
    "/staff/admin": ADMIN,
}
UPLOADS = ("/events", "/subscribers/csv/import")  # the forms that send a file
OPEN = {"/staff/login", "/staff/login/code", "/staff/console.css", "/staff/console.js"}


def _role(path: str) -> str:
    matches = [prefix for prefix in ROLES if path == prefix or path.startswith(prefix + "/")]
    if path.startswith("/staff/") and not matches and path != "/staff/":
        matches = [prefix for prefix in ROLES if path.startswith(prefix)]
    assert matches, f"{path} has no role in ROLES"
    return ROLES[max(matches, key=len)]


def console_routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every console route that needs a session."""
    app = create_app(settings)
    found = []
    [staff] = [route for route in app.routes if isinstance(route, StaffRoutes)]
    for route in staff.routes:
        if not isinstance(route, Route) or not route.path.startswith("/staff"):
            continue
        if route.path in OPEN:
            continue
        path = re.sub(r"\{[a-z_]+:id\}", "1", route.path)
        for method in sorted(route.methods or set()):
            if method != "HEAD":
                found.append((method, path))
    return found


def test_every_console_route_has_a_role(settings: Settings) -> None:
    routes = console_routes(settings)
    assert len(routes) >= 35
    for _, path in routes:
        _role(path)


async def _send(client: httpx.AsyncClient, method: str, path: str, csrf: str) -> httpx.Response:
    if method == "GET":
        return await client.get(path)
    if path.endswith(UPLOADS):
        return await client.post(
            path, data={"csrf": csrf}, files={"file": ("e.csv", b"x", "text/csv")}
        )
    return await client.post(path, data={"csrf": csrf})


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (StaffRole.support, {SUPPORT, ANYONE}),
        (StaffRole.finance, {FINANCE, ANYONE}),
    ],
)
async def test_a_role_sees_neither_the_pages_nor_the_actions_of_another(
    settings: Settings,
    client: httpx.AsyncClient,
    database: Database,
    role: StaffRole,
    allowed: set[str],
) -> None:
    await add_staff(database, role, "someone@example.com")
    assert (await sign_in(client, "someone@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/password")).text)
    refused = 0
    for method, path in console_routes(settings):
        if _role(path) in allowed or path == "/staff/logout":
            continue
        answer = await _send(client, method, path, csrf)
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code}"
        assert "This page is not part of your role." in answer.text
        assert f"({role.value})</span>" in answer.text  # still their own navigation
        refused += 1
    assert refused >= 20
    navigation = (await client.get("/staff/password")).text
    if role == StaffRole.support:
        assert 'href="/staff/finance"' not in navigation
    else:
        assert 'href="/staff/incidents/new"' not in navigation
    assert 'href="/staff/admin/audit"' not in navigation


async def test_a_platform_account_is_sent_to_sign_in_from_every_page_and_form(
    settings: Settings, client: httpx.AsyncClient, database: Database
) -> None:
    """The platform role has no row in ROLES: even with a session (a console user whose row
    was turned into the platform by hand), every page and form sends it to sign in, where
    its password is refused."""
    await add_staff(database, StaffRole.finance, "exchange@example.com")
    assert (await sign_in(client, "exchange@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/password")).text)
    async with database.sessionmaker() as session, session.begin():
        staff = await session.scalar(select(Staff).where(Staff.email == "exchange@example.com"))
        assert staff is not None
        staff.role = StaffRole.platform
    for method, path in console_routes(settings):
        answer = await _send(client, method, path, csrf)
        assert answer.status_code == 303, f"{method} {path}: {answer.status_code}"
        assert answer.headers["location"].startswith("/staff/login?next=")
    assert (await sign_in(client, "exchange@example.com")).status_code == 401


async def test_a_stranger_is_sent_to_sign_in_from_every_page_and_form(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    for method, path in console_routes(settings):
        answer = await _send(client, method, path, "anything")
        assert answer.status_code == 303, f"{method} {path}"
        assert answer.headers["location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("sent", [None, "", "forged-token", "令牌"])
async def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    settings: Settings, client: httpx.AsyncClient, database: Database, sent: str | None
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com")
    assert (await sign_in(client, "admin@example.com")).status_code == 303
    posts = [path for method, path in console_routes(settings) if method == "POST"]
    assert len(posts) >= 20
    for path in posts:
        data = {} if sent is None else {"csrf": sent}
        if path.endswith(UPLOADS):
            answer = await client.post(path, data=data, files={"file": ("e.csv", b"x", "text/csv")})
        else:
            answer = await client.post(path, data=data)
        assert answer.status_code == 403, f"POST {path}: {answer.status_code}"
        assert "The form was sent without this session" in answer.text, path
    assert (await client.get("/staff/")).status_code == 200  # still signed in


async def test_a_form_posted_from_another_site_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    """A cross-site form carries the cookie only on top-level POSTs under SameSite=Lax is
    not sent at all; even when it is, it cannot know the token."""
    await add_staff(database, StaffRole.admin, "admin@example.com")
    assert (await sign_in(client, "admin@example.com")).status_code == 303
    answer = await client.post(
        "/staff/admin/staff",
        data={"email": "evil@example.com", "role": "admin"},
        headers={"origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    people = await client.get("/staff/admin/staff")
    assert "evil@example.com" not in people.text
