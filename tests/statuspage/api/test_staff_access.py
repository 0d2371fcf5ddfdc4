"""Every staff API route, walked from the served OpenAPI document: tokens, roles, input, ids."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.api import compensation_streams
from statuspage.app import create_app, staff_endpoints
from statuspage.config import Settings

API = "/api/staff"
OPENAPI = f"{API}/openapi.json"
UNKNOWN = "zzz_unknown"
MISSING_ID = 2**31 - 1  # the largest id a path takes; no test database's sequences get there
BEYOND_32_BITS = (2**31, 99_999_999_999)
TOO_MANY_DIGITS = "9" * 5_000  # past int()'s 4,300-digit limit
NUL_MESSAGE = "must not contain NUL characters"

MakeToken = Callable[..., Awaitable[str]]
Ids = Mapping[str, int | str]


@dataclass(frozen=True)
class Route:
    """One operation of the served document, with what the walk needs to know about it."""

    method: str
    path: str
    operation: dict[str, Any]
    schemas: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path.removeprefix(API)}"

    @property
    def roles(self) -> list[str]:
        return list(self.operation["x-roles"])

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.operation["parameters"] if p["in"] == "path"]

    @property
    def query_params(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p["schema"] for p in self.operation["parameters"] if p["in"] == "query"}

    @property
    def body(self) -> dict[str, Any] | None:
        """The JSON body's schema; None for a route without one (or with a CSV or JSON
        Lines upload, which the compensation tests walk)."""
        content = self.operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return None
        ref = content["application/json"]["schema"]["$ref"]
        return dict(self.schemas[ref.rsplit("/", 1)[1]])

    @property
    def required(self) -> list[str]:
        return list((self.body or {}).get("required", []))

    @property
    def success(self) -> int:
        return min(int(status) for status in self.operation["responses"] if int(status) < 400)

    def url(self, ids: Ids) -> str:
        return self.path.format(**{name: ids.get(name, MISSING_ID) for name in self.path_params})


def _served_document() -> dict[str, Any]:
    """The document as the app serves it, read at collection so each route gets a test id."""

    async def fetch() -> httpx.Response:
        app = create_app(Settings(database_url="sqlite:///:memory:"))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.get(OPENAPI)
        finally:
            await app.running.services.database.dispose()

    response = asyncio.run(fetch())
    assert response.status_code == 200, response.text
    return dict(response.json())


DOCUMENT = _served_document()
ROUTES = [
    Route(method.upper(), path, operation, DOCUMENT["components"]["schemas"])
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]


def _routes(keep: Callable[[Route], object] = bool) -> list[Any]:
    return [pytest.param(route, id=route.id) for route in ROUTES if keep(route)]


def _refused_role(route: Route) -> str | None:
    """Support for admin-only routes, finance for support-only ones; none if all may."""
    if route.roles == ["admin"]:
        return "support"
    return next((role for role in ("finance", "support") if role not in route.roles), None)


# What a role must send for the route to let it through: the platform looks vouchers up by
# account only.
ROLE_PARAMS: dict[tuple[str, str], dict[str, str]] = {
    ("platform", "GET /compensation/vouchers"): {"account_id": "acc-1"},
}


def _allowed_role(route: Route) -> str:
    return "support" if "support" in route.roles else "admin"


# A body each route accepts, given real component and group ids; the world makes rows with them.
_HOOKS = itertools.count(1)  # each webhook subscription needs its own URL
VALID_BODIES: dict[str, Callable[[Ids], dict[str, Any]]] = {
    "POST /groups": lambda ids: {"name": "Wallets"},
    "PATCH /groups/{group_id}": lambda ids: {"description": "Deposits and withdrawals"},
    "POST /groups/reorder": lambda ids: {"ids": [ids["group_id"]]},
    "POST /components": lambda ids: {"name": "BTC deposits"},
    "PATCH /components/{component_id}": lambda ids: {"description": "On-chain BTC deposits"},
    "POST /components/reorder": lambda ids: {"ids": [ids["component_id"]]},
    "POST /incidents": lambda ids: {
        "name": "BTC deposits delayed",
        "body": "Deposits are not being credited; we are looking into it.",
        "components": {str(ids["component_id"]): "major_outage"},
    },
    "PATCH /incidents/{incident_id}": lambda ids: {"impact": "minor"},
    "POST /incidents/{incident_id}/updates": lambda ids: {
        "status": "identified",
        "body": "A Bitcoin node fell behind; we are resyncing it.",
    },
    "PATCH /incidents/{incident_id}/updates/{update_id}": lambda ids: {"cause": "Node lagging"},
    "POST /incidents/{incident_id}/resolve": lambda ids: {"body": "Deposits are credited again."},
    "POST /incidents/{incident_id}/reopen": lambda ids: {"body": "Deposits are stuck again."},
    "POST /incidents/{incident_id}/corrections": lambda ids: {
        "component_id": ids.get("component_id", MISSING_ID),
        "body": "Correction: BTC deposits were not affected.",
    },
    "PUT /incidents/{incident_id}/postmortem": lambda ids: {"body": "A node upgrade lagged."},
    "POST /maintenances": lambda ids: {
        "name": "BTC node upgrade",
        "body": "Deposits pause for up to an hour.",
        "scheduled_for": "2030-01-05T02:00:00+00:00",
        "scheduled_until": "2030-01-05T03:00:00+00:00",
        "component_ids": [ids["component_id"]],
    },
    "PATCH /maintenances/{maintenance_id}": lambda ids: {"name": "BTC and LN node upgrade"},
    "POST /maintenances/{maintenance_id}/updates": lambda ids: {
        "status": "in_progress",
        "body": "The upgrade has started.",
    },
    "POST /maintenances/{maintenance_id}/cancel": lambda ids: {"body": "Called off."},
    "POST /maintenance-series": lambda ids: {
        "name": "Weekly node maintenance",
        "body": "Withdrawals pause for an hour.",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "first_start": "2030-01-08T02:00:00+08:00",
        "duration_minutes": 60,
        "component_ids": [ids["component_id"]],
    },
    "PATCH /maintenance-series/{series_id}": lambda ids: {"duration_minutes": 45},
    "POST /maintenance-series/{series_id}/cancel": lambda ids: {"body": "Retired."},
    "POST /subscriptions": lambda ids: {
        "channel": "webhook",
        "url": f"https://hooks.example.com/status/{next(_HOOKS)}",
    },
    "PATCH /subscriptions/{subscription_id}": lambda ids: {"language": "zh-CN"},
    "POST /subscriptions/import": lambda ids: {
        "csv": f"address,language\nwalk-{next(_HOOKS)}@example.com,en\n"
    },
    "POST /incidents/{incident_id}/scheduled-updates": lambda ids: {
        "run_at": "2030-01-01T00:00:00+00:00",
        "update": {"status": "identified", "body": "A node fell behind; resyncing."},
    },
    "POST /scheduled-maintenances": lambda ids: {
        "run_at": "2030-01-01T00:00:00+00:00",
        "maintenance": {
            "name": "ETH node upgrade",
            "body": "Withdrawals pause for an hour.",
            "scheduled_for": "2030-01-05T02:00:00+00:00",
            "scheduled_until": "2030-01-05T03:00:00+00:00",
            "component_ids": [ids["component_id"]],
        },
    },
    "POST /alert-sources": lambda ids: {"name": "prod"},
    "PATCH /alert-sources/{source_id}": lambda ids: {"paused": True},
    "POST /alert-rules": lambda ids: _rule(ids),
    "PUT /alert-rules/{rule_id}": lambda ids: _rule(ids),
    "POST /compensation/policies": lambda ids: {
        "name": f"Refund fees {next(_HOOKS)}",
        "rules": {"kind": "fee_refund", "percent": "100"},
    },
    "PATCH /compensation/policies/{policy_id}": lambda ids: {
        "rules": {"kind": "fee_refund", "percent": "50"}
    },
    "POST /compensation/batches": lambda ids: {
        "incident_id": ids.get("resolved_incident_id", MISSING_ID),
        "policy_id": ids.get("policy_id", MISSING_ID),
    },
    "POST /compensation/batches/{batch_id}/accounts": lambda ids: {"account_ids": ["acc-1"]},
    "POST /compensation/batches/{batch_id}/cancel": lambda ids: {"reason": "Wrong incident"},
    "POST /compensation/batches/{batch_id}/pull": lambda ids: {"params": {"day": "2026-03-01"}},
    "POST /compensation/batches/{batch_id}/mark-delivered": lambda ids: {
        "reason": "Credited by the back office"
    },
    "POST /compensation/vouchers/void": lambda ids: {
        "code": "0000-0000-0000-0000-00",
        "reason": "Account closed",
    },
    "POST /compensation/vouchers/redeem": lambda ids: {
        "code": "0000-0000-0000-0000-00",
        "account_id": "acc-1",
        "reference": "credit-1",
    },
}


def _rule(ids: Ids) -> dict[str, Any]:
    return {
        "matchers": {"alertname": "WithdrawalsFailing"},
        "component_id": ids.get("component_id", MISSING_ID),
        "component_status": "major_outage",
        "policy": "draft",
        "language": "en",
        "texts": {"en": {"name": "Down", "body": "Down.", "recovery_body": "Up again."}},
    }


class World:
    """Real rows for path ids, made through the API only when a route needs them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        admin: dict[str, str] | None = None,
    ) -> None:
        self._client = client
        self._headers = headers
        self._admin = admin or headers  # who makes what only an admin may (rules, sources)
        self._ids: dict[str, int] = {}

    async def ids(self, *names: str) -> dict[str, int]:
        return {name: await self.id(name) for name in names}

    async def id(self, name: str) -> int:
        if name not in self._ids:
            self._ids[name] = await self._make(name)
        return self._ids[name]

    async def foreign_id(self, name: str) -> int:
        """An id of the right kind that belongs to another parent."""
        if name == "update_id":
            return int((await self._create("POST /incidents"))["updates"][0]["id"])
        raise AssertionError(f"the walk cannot make a foreign {name}: teach World how")

    async def _make(self, name: str) -> int:
        if name == "resolved_incident_id":
            made = await self._create("POST /incidents")
            resolved = await self._client.post(
                f"{API}/incidents/{made['id']}/resolve",
                json=VALID_BODIES["POST /incidents/{incident_id}/resolve"]({}),
                headers=self._headers,
            )
            assert resolved.status_code == 200, resolved.text
            return int(made["id"])
        if name == "batch_id":
            ids = await self.ids("resolved_incident_id", "policy_id")
            body = VALID_BODIES["POST /compensation/batches"](ids)
            batch = await self._client.post(
                f"{API}/compensation/batches", json=body, headers=self._headers
            )
            assert batch.status_code == 201, batch.text
            return int(batch.json()["id"])
        if name == "update_id":
            await self.id("incident_id")
            return self._ids["update_id"]
        if name == "alert_id":
            return await self._alert()
        route = {
            "group_id": "POST /groups",
            "component_id": "POST /components",
            "incident_id": "POST /incidents",
            "maintenance_id": "POST /maintenances",
            "subscription_id": "POST /subscriptions",
            "post_id": "POST /scheduled-maintenances",
            "policy_id": "POST /compensation/policies",
            "source_id": "POST /alert-sources",
            "series_id": "POST /maintenance-series",
            "rule_id": "POST /alert-rules",
        }.get(name)
        if route is None:
            raise AssertionError(f"the walk cannot make a real {name}: teach World how")
        made = await self._create(route)
        if name == "incident_id":
            self._ids["update_id"] = int(made["updates"][0]["id"])
        return int(made["id"])

    async def _alert(self) -> int:
        """An alert the rule drafted an incident for, sent through an events source."""
        maker = World(self._client, self._admin)
        await maker.id("rule_id")
        source = await self._client.post(
            f"{API}/alert-sources", json={"name": "events", "kind": "events"}, headers=self._admin
        )
        assert source.status_code == 201, source.text
        event = {"labels": {"alertname": "WithdrawalsFailing"}, "summary": "x", "dedup_key": "x"}
        sent = await self._client.post(source.json()["webhook_path"], json=event)
        assert sent.json()["alerts"][0]["decision"] == "drafted", sent.text
        listed = await self._client.get(f"{API}/alerts", headers=self._headers)
        return int(listed.json()[0]["id"])

    async def _create(self, route: str) -> dict[str, Any]:
        ids = await self.ids("component_id") if route in _NEEDS_COMPONENT else {}
        method, path = route.split(" ")
        body = VALID_BODIES[route](ids)
        response = await self._client.request(method, API + path, json=body, headers=self._headers)
        assert response.status_code == 201, response.text
        return dict(response.json())


_NEEDS_COMPONENT = {
    "POST /incidents",
    "POST /maintenances",
    "POST /scheduled-maintenances",
    "POST /maintenance-series",
    "POST /alert-rules",
}


async def _bearer(make_token: MakeToken, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(StaffRole(role))}"}


async def _send(
    client: httpx.AsyncClient,
    route: Route,
    *,
    ids: Ids | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    content: bytes | AsyncIterator[bytes] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One request; whatever it is, the answer is never a 5xx and is a documented status."""
    response = await client.request(
        route.method,
        route.url(ids or {}),
        headers=headers,
        json=body,
        content=content,
        params=params,
    )
    assert response.status_code < 500, response.text
    assert str(response.status_code) in route.operation["responses"], response.text
    return response


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()["error"])


def _rejected(response: httpx.Response, *names: str) -> list[tuple[str, str]]:
    """Asserts a 422 naming exactly these fields, in order; returns (field, message) pairs."""
    error = _error(response, 422)
    assert error["code"] == "validation_error"
    assert error["field"] == names[0]
    fields = [(item["field"], item["message"]) for item in error["fields"]]
    assert [name for name, _ in fields] == list(names)
    return fields


# -- the document and the table ------------------------------------------------------------


async def test_the_served_document_lists_exactly_the_declared_endpoints(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(OPENAPI)
    assert response.status_code == 200
    served = [
        (method.upper(), path)
        for path, operations in response.json()["paths"].items()
        for method in operations
    ]
    declared = [(endpoint.method, API + endpoint.path) for endpoint in staff_endpoints()]
    declared += [(route.method, API + route.path) for route in compensation_streams.STREAMED]
    assert sorted(served) == sorted(declared)
    assert len(set(declared)) == len(declared)
    assert [(route.method, route.path) for route in ROUTES] == served


def test_every_route_with_a_body_has_a_valid_body_for_the_walk() -> None:
    assert set(VALID_BODIES) == {route.id for route in ROUTES if route.body is not None}


# -- 1. tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", _routes())
async def test_a_request_without_a_valid_token_is_unauthenticated(
    client: httpx.AsyncClient, route: Route
) -> None:
    cases = {
        None: "an API token is required: send `Authorization: Bearer <token>`",
        "": "an API token is required: send `Authorization: Bearer <token>`",
        "Basic xyz": "the Authorization header must be `Bearer <token>`",
        "Bearer": "the Authorization header must be `Bearer <token>`",
        "Bearer not-a-token": "the Authorization header must be `Bearer <token>`",
        "Bearer sp_" + "A" * 43: "this API token is not valid",
        "bearer sp_" + "A" * 43: "this API token is not valid",
    }
    for authorization, message in cases.items():
        headers = None if authorization is None else {"Authorization": authorization}
        response = await _send(client, route, headers=headers)
        assert _error(response, 401) == {
            "code": "unauthenticated",
            "message": message,
            "field": None,
        }, authorization


# -- 2. roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", _routes())
async def test_a_role_the_route_does_not_allow_is_forbidden_and_the_others_get_through(
    client: httpx.AsyncClient, route: Route, make_token: MakeToken
) -> None:
    refused = _refused_role(route)
    if refused is not None:  # finance for support-only routes, support for admin-only ones
        needed = " or ".join(name for name in route.roles if name != "admin") or "admin"
        response = await _send(client, route, headers=await _bearer(make_token, refused))
        assert _error(response, 403) == {
            "code": "forbidden",
            "message": f"this action needs the {needed} role; you are {refused}",
            "field": None,
        }

    if "platform" not in route.roles:  # the platform's token: a deny-by-default role
        needed = " or ".join(name for name in route.roles if name != "admin") or "admin"
        response = await _send(client, route, headers=await _bearer(make_token, "platform"))
        assert _error(response, 403) == {
            "code": "forbidden",
            "message": f"this action needs the {needed} role; you are platform",
            "field": None,
        }

    assert "admin" in route.roles
    admin = await _bearer(make_token, "admin")
    world = World(client, admin)
    ids = await world.ids(*route.path_params)
    if route.body is not None:
        ids.update(await world.ids("component_id", "group_id"))
    for role in route.roles:
        body = VALID_BODIES[route.id](ids) if route.body is not None else None
        headers = admin if role == "admin" else await _bearer(make_token, role)
        params = ROLE_PARAMS.get((role, route.id))
        response = await _send(client, route, ids=ids, headers=headers, body=body, params=params)
        assert response.status_code not in {401, 403}, (role, response.text)


def test_the_platform_role_reaches_exactly_redemption_and_the_account_lookup() -> None:
    allowed = [route.id for route in ROUTES if "platform" in route.roles]
    assert allowed == ["GET /compensation/vouchers", "POST /compensation/vouchers/redeem"]


# -- 3. bodies -----------------------------------------------------------------------------


async def _check_size_limit(
    client: httpx.AsyncClient, route: Route, headers: dict[str, str], limit: int
) -> None:
    """A body of exactly `limit` bytes is read (and validated); one byte more is refused,
    whether the request declares its length or streams it."""
    unknown = b'{"%s": 1}' % UNKNOWN.encode()
    at_limit = unknown + b" " * (limit - len(unknown))
    response = await _send(client, route, headers=headers, content=at_limit)
    _rejected(response, *route.required, UNKNOWN)

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield at_limit
        yield b" "

    too_large = {
        "code": "body_too_large",
        "message": f"the request body is over the {limit}-byte limit",
        "field": "body",
    }
    response = await _send(client, route, headers=headers, content=at_limit + b" ")
    assert _error(response, 413) == too_large
    response = await _send(client, route, headers=headers, content=streamed())
    assert "content-length" not in response.request.headers
    assert _error(response, 413) == too_large


@pytest.mark.parametrize("route", _routes(lambda route: route.body is not None))
async def test_the_body_must_be_a_json_object_of_the_model_within_the_size_limit(
    client: httpx.AsyncClient, route: Route, make_token: MakeToken, settings: Settings
) -> None:
    headers = await _bearer(make_token, _allowed_role(route))
    await _check_size_limit(client, route, headers, settings.max_body_bytes)

    async def send(content: bytes) -> httpx.Response:
        return await _send(client, route, headers=headers, content=content)

    assert _rejected(await send(b"not json"), "body") == [
        ("body", "not valid JSON (Expecting value: line 1 column 1 (char 0))")
    ]
    assert _rejected(await send(b""), "body") == [("body", "a JSON object is required")]
    assert _rejected(await send(b"[]"), "body") == [("body", "must be a JSON object")]
    assert _rejected(await send(b'[{"name": "x"}]'), "body") == [("body", "must be a JSON object")]
    _rejected(await send(b"\xff\xfe\xff"), "body")
    nested = b"[" * 100_000 + b"]" * 100_000  # past the decoder's recursion limit
    _rejected(await send(b'{"%s": %s}' % (UNKNOWN.encode(), nested)), "body")
    _rejected(await send(b'{"%s": %s}' % (UNKNOWN.encode(), TOO_MANY_DIGITS.encode())), "body")

    missing = [(name, "Field required") for name in route.required]
    extra = (UNKNOWN, "Extra inputs are not permitted")
    empty = await send(b"{}")
    if missing:
        assert _rejected(empty, *route.required) == missing
    else:  # nothing required: the body is valid and the handler looks the missing id up
        assert empty.status_code == (404 if route.path_params else route.success), empty.text
    unknown = await send(b'{"%s": 1}' % UNKNOWN.encode())
    assert _rejected(unknown, *route.required, UNKNOWN) == [*missing, extra]
    nul = await send(b'{"%s": "BTC\\u0000"}' % UNKNOWN.encode())
    assert _rejected(nul, UNKNOWN) == [(UNKNOWN, NUL_MESSAGE)]


# -- 4. path ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", _routes(lambda route: bool(route.path_params)))
async def test_an_id_that_does_not_exist_is_not_found(
    client: httpx.AsyncClient, route: Route, make_token: MakeToken
) -> None:
    role = _allowed_role(route)
    headers = await _bearer(make_token, role)
    admin = headers if role == "admin" else await _bearer(make_token, "admin")
    world = World(client, headers, admin=admin)
    real = await world.ids(*route.path_params)
    body = VALID_BODIES[route.id](real) if route.body is not None else None
    for position, name in enumerate(route.path_params):
        for missing in (MISSING_ID, 0, *BEYOND_32_BITS):
            response = await _send(
                client, route, ids={**real, name: missing}, headers=headers, body=body
            )
            error = _error(response, 404)
            assert (error["code"], error["field"]) == ("not_found", name), missing
            assert f" {missing} " in error["message"]
        response = await _send(
            client, route, ids={**real, name: TOO_MANY_DIGITS}, headers=headers, body=body
        )
        assert _error(response, 404) == {"code": "not_found", "message": "Not Found", "field": None}
        if position > 0:  # a child id of another parent is as missing as one that never was
            foreign = await world.foreign_id(name)
            response = await _send(
                client, route, ids={**real, name: foreign}, headers=headers, body=body
            )
            error = _error(response, 404)
            assert (error["code"], error["field"]) == ("not_found", name)


# -- 5. query parameters -------------------------------------------------------------------


def _types(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The JSON types a parameter takes (`anyOf` unfolded), each with its own constraints."""
    options = schema.get("anyOf", [schema])
    return {option["type"]: option for option in options if "type" in option}


def _bad_values(schema: dict[str, Any]) -> list[str]:
    bad = []
    for kind, option in _types(schema).items():
        if kind == "integer":
            bad += ["abc", "1.5", TOO_MANY_DIGITS]
            bad += [str(option["minimum"] - 1)] if "minimum" in option else []
            bad += [str(option["maximum"] + 1)] if "maximum" in option else []
        elif kind == "boolean":
            bad += ["maybe"]
        elif kind == "string":
            bad += ["BTC\x00"]
            bad += ["no-such-choice"] if "enum" in option else []
            bad += ["x" * (option["maxLength"] + 1)] if "maxLength" in option else []
    return bad


@pytest.mark.parametrize("route", _routes(lambda route: route.method == "GET"))
async def test_the_query_is_validated(
    client: httpx.AsyncClient, route: Route, make_token: MakeToken
) -> None:
    headers = await _bearer(make_token, _allowed_role(route))

    async def send(params: dict[str, str]) -> httpx.Response:
        return await _send(client, route, headers=headers, params=params)

    message = "this endpoint takes no query parameters"
    if route.query_params:
        message = "Extra inputs are not permitted"
    assert _rejected(await send({UNKNOWN: "1"}), UNKNOWN) == [(UNKNOWN, message)]
    if "limit" in route.query_params:
        for limit in ("0", "100000"):
            _rejected(await send({"limit": limit}), "limit")
    for name, schema in route.query_params.items():
        bad_values = _bad_values(schema)
        assert bad_values, f"the walk has no bad value for {name}: teach _bad_values its type"
        for value in bad_values:
            _rejected(await send({name: value}), name)
