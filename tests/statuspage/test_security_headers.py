"""Every route answers with the security headers: cached public pages, the APIs, the console,
the subscription pages and the errors (404, 405, 413, 500)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Route

from incidents.common.staff import StaffRole
from incidents.models import Component, Incident, Maintenance
from statuspage.app import StaffRoutes, StatusApp, create_app
from statuspage.cli import demo
from statuspage.config import Settings
from statuspage.db import Database
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import signed_in

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PUBLIC = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
PRIVATE = {**PUBLIC, "referrer-policy": "no-referrer"}
# The /embed frame of public notices: any site may frame it.
FRAMABLE = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors *",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
HSTS = "max-age=31536000"


def expected(path: str) -> dict[str, str]:
    private = path.startswith(("/staff", "/api/staff", "/subscribe", "/subscriptions/"))
    if path == "/embed":
        return FRAMABLE
    return PRIVATE if private else PUBLIC


def security_headers(response: httpx.Response) -> dict[str, str]:
    """The security headers as sent, each once (a repeated header would be comma-joined)."""
    return {
        name: response.headers[name]
        for name in [*PUBLIC, "strict-transport-security"]
        if name in response.headers
    }


@dataclasses.dataclass(frozen=True)
class Demo:
    incident: str
    maintenance: str
    component: int


async def _load_demo(database: Database) -> Demo:
    async with database.sessionmaker() as session, session.begin():
        await demo.load(session, actor_id=None)
        incident = (await session.scalars(select(Incident.shortlink).limit(1))).one()
        maintenance = (await session.scalars(select(Maintenance.shortlink).limit(1))).one()
        component = (await session.scalars(select(Component.id).limit(1))).one()
    return Demo(incident, maintenance, component)


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[StatusApp]:
    built = create_app(settings, database=database)
    yield built
    await built.running.cache.close()


def _filled(path: str, site: Demo) -> str:
    path = path.replace("{shortlink}", site.incident).replace("{rest:path}", "summary.json")
    path = path.replace("{component_id}", str(site.component))
    return re.sub(r"\{[a-z_]+:id\}", "1", path)


def every_route(app: StatusApp, site: Demo) -> list[tuple[str, str]]:
    found = []
    # The staff routes are built at the first staff request; walking them builds them.
    routes = [
        inner
        for route in app.routes
        for inner in (route.routes if isinstance(route, StaffRoutes) else [route])
    ]
    for route in routes:
        assert isinstance(route, Route), route
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, _filled(route.path, site)))
    found += [
        ("GET", f"/maintenance/{site.maintenance}"),
        ("GET", "/history?page=2"),
        ("HEAD", "/"),
        ("GET", "/no/such/page"),  # 404 page
        ("GET", "/api/v2/nothing.json"),  # 404 JSON
        ("POST", "/"),  # 405
        ("PUT", "/api/staff/incidents"),  # 405 JSON
    ]
    return found


async def test_every_route_answers_with_the_security_headers(
    app: StatusApp, database: Database, make_token: MakeToken
) -> None:
    admin = {"Authorization": f"Bearer {await make_token(StaffRole.admin, 'api@example.com')}"}
    site = await _load_demo(database)
    routes = every_route(app, site)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        spec = (await client.get("/api/staff/openapi.json", headers=admin)).json()
        documented = {_filled(p.replace("}", ":id}"), site) for p in spec["paths"]}
        assert documented <= {path for _, path in routes}
        await signed_in(client, database, StaffRole.admin)
        statuses = set()
        # Twice: the first GET of a public page renders it, the second is a cache hit.
        for _ in range(2):
            for method, path in routes:
                json: dict[str, str] | None = (
                    {} if path.startswith("/api/") and method != "GET" else None
                )
                response = await client.request(method, path, headers=admin, json=json)
                statuses.add(response.status_code)
                assert security_headers(response) == expected(path), (method, path)
    # Answers of every kind were walked (ids differ by backend, so 409 is not always reached).
    assert {200, 204, 301, 303, 400, 403, 404, 405, 422} <= statuses


async def test_a_cache_hit_carries_the_headers_prepared_at_render_time(
    app: StatusApp, database: Database
) -> None:
    await _load_demo(database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.get("/")
        assert app.running.cache.entries, "the first GET rendered and cached the page"
        again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
        gzipped = await client.get("/api/v2/summary.json", headers={"accept-encoding": "gzip"})
    assert again.status_code == 304
    for response in (first, again, gzipped):
        assert security_headers(response) == PUBLIC
        assert response.headers.get_list("content-security-policy") == [CSP]


async def test_hsts_is_sent_only_when_the_public_url_is_https(
    settings: Settings, database: Database, admin: dict[str, str]
) -> None:
    https = dataclasses.replace(settings, public_url="https://status.exchange.example")
    app = create_app(https, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        answers = [
            await client.get("/"),
            await client.get("/"),  # the cache hit
            await client.get("/api/v2/status.json"),
            await client.get("/api/staff/me", headers=admin),
            await client.get("/staff/login"),
            await client.get("/no/such/page"),
        ]
    await app.running.cache.close()
    for response in answers:
        path = response.request.url.path
        assert security_headers(response) == {**expected(path), "strict-transport-security": HSTS}


async def test_an_oversized_body_is_refused_with_the_headers(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    response = await client.post(
        "/api/staff/incidents",
        headers={**support, "content-type": "application/json"},
        content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert security_headers(response) == PRIVATE


async def test_a_server_error_answers_with_the_headers(settings: Settings) -> None:
    # A database nobody listens for (port 1 refuses at once): /healthz fails inside the app.
    broken = dataclasses.replace(settings, database_url="postgresql://status@127.0.0.1:1/status")
    app = create_app(broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/healthz")
    await app.running.services.database.dispose()
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert security_headers(response) == PUBLIC


@pytest.mark.parametrize(
    "path",
    [
        "/subscribe",
        "/subscriptions/confirm?token=abc.def",
        "/subscriptions/manage?token=abc.def",
        "/subscriptions/unsubscribe?token=abc.def",
    ],
)
async def test_the_subscription_pages_whose_links_carry_tokens_send_no_referrer(
    client: httpx.AsyncClient, path: str
) -> None:
    # A page opened from an email link has the token in its URL: a link or a resource on it
    # must not hand that URL to another site in the Referer header.
    for method in ("GET", "POST"):
        response = await client.request(method, path)
        assert response.headers["referrer-policy"] == "no-referrer", (method, path)
        assert security_headers(response) == PRIVATE, (method, path)
