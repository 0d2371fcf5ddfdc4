"""Schemathesis fuzzes the staff API and the public API v2 from their own OpenAPI documents."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from incidents.common.staff import StaffRole
from incidents.models import Component, ComponentGroup, Incident, IncidentUpdate, Maintenance
from statuspage.cli import demo
from statuspage.db import Database
from tests.conftest import MakeToken

pytestmark = pytest.mark.slow


@schemathesis.serializer("application/x-ndjson", "application/jsonl", "application/json-lines")
def _json_lines(_context: Any, value: Any) -> bytes:
    """The events upload's JSON Lines body: a drawn string as it is, anything else as JSON."""
    return (value if isinstance(value, str) else json.dumps(value)).encode()


# Small and derandomized: the same cases every run, a few seconds per backend.
EXAMPLES_PER_MODE = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _cases(
    spec: dict[str, Any], fixed_headers: dict[str, str], ids: dict[str, int] | None = None
) -> list[Case[Any]]:
    """Valid and invalid requests for every operation, drawn without calling the app
    (the app runs on the test's event loop and its rolled-back database). With `ids`,
    only the operations with path parameters, each pointed at a real row."""
    schema = schemathesis.openapi.from_dict(spec)
    drawn: list[Case[Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        if ids is not None and not names:
            continue
        fixed = {name: ids[name] for name in names} if ids is not None else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                mode, headers=fixed_headers or None, path_parameters=fixed
            )

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def collect(case: Case[Any]) -> None:
                drawn.append(case)

            try:
                collect()
            except Unsatisfiable:
                # An operation with no parameter or body has no invalid request to draw.
                assert mode is GenerationMode.NEGATIVE, operation.label
    return drawn


# Drawing is most of a fuzz test's CPU (~5 s for the staff API, ~4 s for the public one) and
# the same for each backend: the documents are the same and the draw derandomized. The cases
# of both documents are drawn once per run, with a stand-in token that `_send` swaps for the
# test's own, so each backend gets the same requests as if it had drawn them itself.
STAND_IN = "Bearer stand-in-for-the-test-s-token"
_DRAWN: dict[str, list[Case[Any]]] = {}


def _cases_once(spec: dict[str, Any], fixed_headers: dict[str, str]) -> list[Case[Any]]:
    headers = {
        name: STAND_IN if name == "Authorization" else v for name, v in fixed_headers.items()
    }
    key = json.dumps([spec, headers], sort_keys=True)
    if key not in _DRAWN:
        _DRAWN[key] = _cases(spec, headers)
    return _DRAWN[key]


async def _send(
    client: httpx.AsyncClient, case: Case[Any], authorization: str | None = None
) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    assert not kwargs.get("cookies"), "neither document has cookie parameters"
    headers = kwargs.get("headers")
    if authorization is not None and headers:
        headers = {
            name: authorization if value == STAND_IN else value for name, value in headers.items()
        }
    assert STAND_IN not in (headers or {}).values(), "the test's own token is sent"
    body: dict[str, Any] = {k: kwargs[k] for k in ("json", "files") if k in kwargs}
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        body["content"] = data  # raw bytes in a requests-style `data`
    elif data is not None:
        body["data"] = data
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=headers,
        params=kwargs.get("params"),
        **body,
    )


async def _fuzz(
    client: httpx.AsyncClient, cases: list[Case[Any]], authorization: str | None = None
) -> list[str]:
    failures = []
    for case in cases:
        response = await _send(client, case, authorization)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            failures.append(f"{case.method} {case.formatted_path}: {group}")
    return failures


async def test_the_staff_api_answers_every_fuzzed_request_as_documented(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    spec = (await client.get("/api/staff/openapi.json")).json()
    cases = _cases_once(spec, admin)
    assert len({(c.method, c.path) for c in cases}) == len(spec_operations(spec))
    failures = await _fuzz(client, cases, admin["Authorization"])
    assert failures == [], "\n\n".join(failures[:5])


async def _real_ids(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> dict[str, int]:
    """An id of a real row for every path parameter of the staff API, from the demo."""
    async with database.sessionmaker() as session, session.begin():
        await demo.load(session, actor_id=None)
    async with database.sessionmaker() as session:
        ids = {
            name: (await session.scalars(select(column).order_by(column).limit(1))).one()
            for name, column in [
                ("component_id", Component.id),
                ("group_id", ComponentGroup.id),
                ("incident_id", Incident.id),
                ("update_id", IncidentUpdate.id),
                ("maintenance_id", Maintenance.id),
            ]
        }
        resolved = (
            await session.scalars(
                select(Incident.id).where(Incident.resolved_at.is_not(None)).limit(1)
            )
        ).one()
    made = {
        "subscription_id": await client.post(
            "/api/staff/subscriptions",
            json={"channel": "webhook", "url": "https://hooks.example.com/status"},
            headers=admin,
        ),
        "policy_id": await client.post(
            "/api/staff/compensation/policies",
            json={"name": "Coupon", "rules": {"kind": "coupon", "asset": "USDT", "amount": "5"}},
            headers=admin,
        ),
        "post_id": await client.post(
            f"/api/staff/incidents/{ids['incident_id']}/scheduled-updates",
            json={
                "run_at": "2099-01-01T00:00:00Z",
                "update": {"status": "monitoring", "body": "Watching."},
            },
            headers=admin,
        ),
        "source_id": await client.post(
            "/api/staff/alert-sources", json={"name": "Alertmanager"}, headers=admin
        ),
        "series_id": await client.post(
            "/api/staff/maintenance-series",
            json={
                "name": "Weekly",
                "body": "Paused.",
                "rrule": "FREQ=WEEKLY",
                "first_start": "2099-01-06T02:00:00Z",
                "duration_minutes": 60,
                "component_ids": [ids["component_id"]],
            },
            headers=admin,
        ),
    }
    for name, response in made.items():
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    ids.update(await _alert_ids(client, admin, ids["component_id"]))
    ids["resolved_incident"] = resolved
    return {**ids, "batch_id": await _batch(client, admin, resolved, ids["policy_id"])}


async def _alert_ids(
    client: httpx.AsyncClient, admin: dict[str, str], component_id: int
) -> dict[str, int]:
    """A rule and an alert it drafted an incident for (through an events source)."""
    rule = {
        "matchers": {"service": "fuzz"},
        "component_id": component_id,
        "component_status": "degraded_performance",
        "policy": "draft",
        "language": "en",
        "texts": {"en": {"name": "Fuzz", "body": "Fuzzing.", "recovery_body": "Done."}},
    }
    made = await client.post("/api/staff/alert-rules", json=rule, headers=admin)
    assert made.status_code == 201, made.text
    source = await client.post(
        "/api/staff/alert-sources", json={"name": "events", "kind": "events"}, headers=admin
    )
    sent = {"labels": {"service": "fuzz"}, "summary": "fuzz", "dedup_key": "fuzz"}
    fired = await client.post(source.json()["webhook_path"], json=sent)
    assert fired.json()["alerts"][0]["decision"] == "drafted", fired.text
    alerts = (await client.get("/api/staff/alerts", headers=admin)).json()
    return {"rule_id": made.json()["id"], "alert_id": alerts[0]["id"]}


async def _batch(
    client: httpx.AsyncClient, headers: dict[str, str], incident_id: int, policy_id: int
) -> int:
    made = await client.post(
        "/api/staff/compensation/batches",
        json={"incident_id": incident_id, "policy_id": policy_id},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _issued_batch(
    client: httpx.AsyncClient, ids: dict[str, int], admin: dict[str, str], approver: str
) -> int:
    """A batch of two accounts' coupons, issued by another finance user's approval: real
    vouchers in the exports, a 200 from issuing it again."""
    coupon = await client.post(
        "/api/staff/compensation/policies",
        json={"name": "Coupon 2", "rules": {"kind": "coupon", "asset": "USDT", "amount": "5"}},
        headers=admin,
    )
    assert coupon.status_code == 201, coupon.text
    batch_id = await _batch(client, admin, ids["resolved_incident"], coupon.json()["id"])
    path = f"/api/staff/compensation/batches/{batch_id}"
    steps = [
        (f"{path}/accounts", {"account_ids": ["acc-1", "acc-2"]}, admin),
        (f"{path}/approve", None, {"Authorization": f"Bearer {approver}"}),
        (f"{path}/issue", None, admin),
    ]
    for url, body, headers in steps:
        done = await client.post(url, json=body, headers=headers)
        assert done.status_code == 200, done.text
    return batch_id


async def test_the_staff_api_answers_fuzzed_requests_about_real_rows_as_documented(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], make_token: MakeToken
) -> None:
    spec = (await client.get("/api/staff/openapi.json")).json()
    ids = await _real_ids(client, database, admin)
    failures = await _fuzz(client, _cases(spec, admin, ids))
    # The streamed routes again, about a batch with vouchers: issue (again) and the exports.
    approver = await make_token(StaffRole.finance, "approver@example.com")
    issued = {**ids, "batch_id": await _issued_batch(client, ids, admin, approver)}
    spec["paths"] = {
        path: item for path, item in spec["paths"].items() if path.endswith(("/issue", ".csv"))
    }
    failures += await _fuzz(client, _cases(spec, admin, issued))
    assert failures == [], "\n\n".join(failures[:5])


async def test_the_public_api_answers_every_fuzzed_request_as_documented(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v2/openapi.json")
    assert response.headers["access-control-allow-origin"] == "*"
    spec = response.json()
    assert sorted(spec["paths"]) == [
        "/api/networks.json",
        "/api/notices.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/status.json",
        "/api/v2/summary.json",
    ]
    failures = await _fuzz(client, _cases_once(spec, {}))
    assert failures == [], "\n\n".join(failures[:5])


def spec_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
