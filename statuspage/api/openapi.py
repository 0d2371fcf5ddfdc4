"""The staff API's OpenAPI document, built from the same `Endpoint` rows as its routes (so
the documented surface is the served one), plus `Streamed` rows for the routes that stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from incidents.common.staff import StaffRole
from statuspage.api.routing import MAX_ID, Endpoint, path_params

_JSON = "application/json"


@dataclass(frozen=True)
class Streamed:
    """An operation as the OpenAPI document describes it. Routes with a handler of their own
    (they stream their body in or out) are listed as these; each `Endpoint` becomes one."""

    method: str
    path: str
    roles: frozenset[StaffRole]
    summary: str
    # status → (description, content by media type); `errors` are answered as `Error` JSON
    answers: dict[int, tuple[str, dict[str, Any]]]
    errors: tuple[int, ...]
    body: dict[str, Any] | None = None  # media type → schema
    json_body: type[BaseModel] | None = None  # or a JSON body read with `read_model`
    query: type[BaseModel] | None = None
    models: tuple[type[BaseModel], ...] = ()  # referenced by `answers`
    tags: tuple[str, ...] = field(default=())


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to a model in the document's components."""
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi(
    endpoints: Sequence[Endpoint],
    *,
    prefix: str,
    title: str,
    streamed: Sequence[Streamed] = (),
) -> dict[str, Any]:
    models = _models(endpoints)
    inputs = [endpoint.body for endpoint in endpoints]
    for route in streamed:
        inputs.append(route.json_body)
        for model in (route.json_body, *route.models):
            if model is not None and model not in models:
                models.append(model)
    _, schemas = models_json_schema(
        [(model, "validation" if model in inputs else "serialization") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    for route in streamed:
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = _streamed(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {**schemas.get("$defs", {}), "Error": _ERROR_SCHEMA},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }


_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
                "fields": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def _models(endpoints: Sequence[Endpoint]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for endpoint in endpoints:
        for model in (endpoint.body, _response_model(endpoint.response)):
            if model is not None and model not in found:
                found.append(model)
    return found


def _response_model(response: Any) -> type[BaseModel] | None:
    if get_origin(response) is list:
        response = get_args(response)[0]
    return response if isinstance(response, type) and issubclass(response, BaseModel) else None


_ERRORS = {
    401: "no valid API token",
    403: "the token's role may not do this",
    404: "no such id",
    409: "not allowed in the current state",
    413: "request body too large",
    415: "a body in a media type this route does not read",
    422: "invalid input; `error.field` names it",
    502: "the platform's API failed or answered something that is not a page of events",
    503: "the database is busy with another write (`database_busy`): nothing was saved; "
    "send it again after `Retry-After` seconds",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
}


def _errors(statuses: Sequence[int]) -> dict[str, Any]:
    error = {"content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        str(status): {
            "description": _ERRORS[status],
            **error,
            **({"headers": _RETRY_AFTER} if status == 503 else {}),
        }
        for status in statuses
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    statuses = [401, 403, 422]
    statuses += [404] if endpoint.path_params else []
    statuses += [409, 503] if endpoint.method != "GET" else []
    statuses += [413] if endpoint.body is not None else []
    done = ("done", _response_content(endpoint.response))
    return _streamed(
        Streamed(
            endpoint.method,
            endpoint.path,
            endpoint.roles,
            endpoint.summary,
            answers={endpoint.status_code: done},
            errors=tuple(sorted(statuses)),
            json_body=endpoint.body,
            query=endpoint.query,
            tags=endpoint.tags,
        )
    )


def _streamed(route: Streamed) -> dict[str, Any]:
    body = route.body
    if route.json_body is not None:
        body = {_JSON: {"schema": schema_ref(route.json_body)}}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": _operation_id(route.method, route.path),
        "tags": list(route.tags),
        "x-roles": sorted(role.value for role in route.roles | {StaffRole.admin}),
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
            for name in path_params(route.path)
        ]
        + _query_parameters(route.query),
        "responses": {
            **{
                str(status): {"description": description, "content": content}
                for status, (description, content) in route.answers.items()
            },
            **_errors(route.errors),
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _operation_id(method: str, path: str) -> str:
    words = path.strip("/").replace("{", "").replace("}", "").replace("/", "_")
    return f"{method.lower()}_{words}"


def _response_content(response: Any) -> dict[str, Any]:
    model = _response_model(response)
    if model is None:
        return {_JSON: {"schema": {"type": "object"}}}
    schema: dict[str, Any] = schema_ref(model)
    if get_origin(response) is list:
        schema = {"type": "array", "items": schema}
    return {_JSON: {"schema": schema}}


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = TypeAdapter(model).json_schema()
    definitions = schema.get("$defs", {})
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", []),
            "schema": _inline(prop, definitions),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """A parameter's schema with its `#/$defs/…` references (enums) written out in place."""
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref", "")
    if reference.startswith("#/$defs/"):
        return _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
    return {key: _inline(value, definitions) for key, value in schema.items()}
