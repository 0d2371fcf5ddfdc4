"""Schemathesis fuzzes the staff API and the public API v2 from their own OpenAPI documents."""

from __future__ import annotations

from typing import Any

import httpx
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

# Small and derandomized: the same cases every run, a few seconds per backend.
EXAMPLES_PER_MODE = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _cases(spec: dict[str, Any], fixed_headers: dict[str, str]) -> list[Case[Any]]:
    """Valid and invalid requests for every operation, drawn without calling the app
    (the app runs on the test's event loop and its rolled-back database)."""
    schema = schemathesis.openapi.from_dict(spec)
    drawn: list[Case[Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, headers=fixed_headers or None)

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


async def _send(client: httpx.AsyncClient, case: Case[Any]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    assert not kwargs.get("cookies"), "neither document has cookie parameters"
    body: dict[str, Any] = {k: kwargs[k] for k in ("json", "files") if k in kwargs}
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        body["content"] = data  # raw bytes in a requests-style `data`
    elif data is not None:
        body["data"] = data
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        **body,
    )


async def _fuzz(client: httpx.AsyncClient, cases: list[Case[Any]]) -> list[str]:
    failures = []
    for case in cases:
        response = await _send(client, case)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            failures.append(f"{case.method} {case.formatted_path}: {group}")
    return failures


async def test_the_staff_api_answers_every_fuzzed_request_as_documented(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    spec = (await client.get("/api/staff/openapi.json")).json()
    cases = _cases(spec, admin)
    assert len({(c.method, c.path) for c in cases}) == len(spec_operations(spec))
    failures = await _fuzz(client, cases)
    assert failures == [], "\n\n".join(failures[:5])


async def test_the_public_api_answers_every_fuzzed_request_as_documented(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v2/openapi.json")
    assert response.headers["access-control-allow-origin"] == "*"
    spec = response.json()
    assert sorted(spec["paths"]) == [
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/status.json",
        "/api/v2/summary.json",
    ]
    failures = await _fuzz(client, _cases(spec, {}))
    assert failures == [], "\n\n".join(failures[:5])


def spec_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
