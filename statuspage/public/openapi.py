"""The OpenAPI document of the public API v2 (`/api/v2/openapi.json`), fuzzed by the tests."""

from __future__ import annotations

from typing import Any

from incidents.models import (
    ComponentStatus,
    Impact,
    IncidentStatus,
    Indicator,
    MaintenanceStatus,
    NetworkState,
)
from incidents.schemas import LANGUAGES

__all__ = ["document"]

Json = dict[str, Any]

_PATHS = {
    "summary.json": ("The page, its components, unresolved incidents and maintenance", "Summary"),
    "status.json": ("The page's overall indicator", "StatusDocument"),
    "components.json": ("Every component and group", "Components"),
    "incidents.json": ("The latest 50 incidents", "Incidents"),
    "incidents/unresolved.json": ("Incidents not yet resolved", "Incidents"),
    "scheduled-maintenances.json": ("The latest 50 maintenances", "Maintenances"),
    "scheduled-maintenances/upcoming.json": ("Maintenances not yet started", "Maintenances"),
    "scheduled-maintenances/active.json": ("Maintenances in progress", "Maintenances"),
}


def _string(nullable: bool = False) -> Json:
    return {"type": ["string", "null"]} if nullable else {"type": "string"}


def _time(nullable: bool = False) -> Json:
    return {**_string(nullable), "format": "date-time"}


def _object(properties: Json, *, optional: tuple[str, ...] = ()) -> Json:
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> Json:
    return {"type": "array", "items": _ref(name)}


def _schemas() -> Json:
    """The documents' shapes; incidents and maintenance share one event shape (maintenance
    adds its schedule)."""
    return {
        "Page": _page(),
        "Status": _status(),
        "Component": _component(),
        "Incident": _event(),
        "IncidentUpdate": _update(),
        "Summary": _object(
            {
                "page": _ref("Page"),
                "components": _list_of("Component"),
                "incidents": _list_of("Incident"),
                "scheduled_maintenances": _list_of("Incident"),
                "status": _ref("Status"),
            }
        ),
        "StatusDocument": _object({"page": _ref("Page"), "status": _ref("Status")}),
        "Components": _object({"page": _ref("Page"), "components": _list_of("Component")}),
        "Incidents": _object({"page": _ref("Page"), "incidents": _list_of("Incident")}),
        "Maintenances": _object(
            {"page": _ref("Page"), "scheduled_maintenances": _list_of("Incident")}
        ),
        **_network_schemas(),
    }


def _network_schemas() -> Json:
    """/api/networks.json: each asset on each network, per way (null: not offered)."""
    way = _object(
        {
            "enabled": {"type": "boolean"},
            "state": {"type": "string", "enum": [s.value for s in NetworkState]},
            "reason": _string(nullable=True),
            "cause": _string(nullable=True),
            "message": _string(nullable=True),
            "since": _time(nullable=True),
            "expected_reopen_at": _time(nullable=True),
            "url": _string(nullable=True),
        }
    )
    nullable_way = {"anyOf": [_ref("NetworkWay"), {"type": "null"}]}
    row = _object(
        {
            "asset": _string(),
            "network": _string(),
            "deposit": nullable_way,
            "withdrawal": nullable_way,
        }
    )
    page = _object({"name": _string(), "url": _string(), "updated_at": _time()})
    document = _object(
        {
            "page": page,
            "language": {"type": "string", "enum": list(LANGUAGES)},
            "networks": _list_of("Network"),
        }
    )
    notice = _object(
        {
            "kind": _enum(["incident", "maintenance"]),
            "id": _string(),
            "title": _string(),
            "status": _event_status(),
            "severity": _enum([*(i.value for i in Impact), "maintenance"]),
            "message": _string(nullable=True),
            "cause": _string(nullable=True),
            "started_at": _time(nullable=True),
            "expected_resolution_at": _time(nullable=True),
            "components": {"type": "array", "items": {"type": "integer"}},
            "url": _string(),
        }
    )
    notices = _object(
        {"language": _enum(list(LANGUAGES)), "notices": {"type": "array", "items": notice}}
    )
    return {"NetworkWay": way, "Network": row, "Networks": document, "Notices": notices}


def _language_operation(path: str, summary: str, schema: str, filters: Json) -> Json:
    """A document in the reader's language (`lang`), narrowed by `filters` (query strings)."""
    operation = _operation(path, summary, schema)
    get = operation["get"]
    get["parameters"] += [
        {"name": "lang", "in": "query", "required": False, "schema": _enum(list(LANGUAGES))},
        *(
            {"name": name, "in": "query", "required": False, "schema": shape}
            for name, shape in filters.items()
        ),
    ]
    get["responses"]["404"] = {
        "description": "the filter names nothing listed",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return operation


def _refusing(operation: Json) -> Json:
    """With the 400 a malformed filter gets (more than 50 ids, an id of 0, a bad name)."""
    error = _object(
        {
            "error": _object(
                {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                }
            )
        }
    )
    operation["get"]["responses"]["400"] = {
        "description": "a malformed filter; `field` names it",
        "content": {"application/json": {"schema": error}},
    }
    return operation


_ASSET_FILTER = {"type": "string", "pattern": "^[A-Za-z0-9]{1,16}$", "description": "e.g. USDT"}
_NOTICE_FILTERS = {
    "components": {"type": "string", "pattern": "^[0-9]{1,10}(,[0-9]{1,10}){0,49}$"},
    "asset": _ASSET_FILTER,
    "network": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$"},
}


def _enum(values: list[str]) -> Json:
    return {"type": "string", "enum": values}


def _event_status() -> Json:
    values = [s.value for s in IncidentStatus] + [s.value for s in MaintenanceStatus]
    return {"type": "string", "enum": values}


def _update() -> Json:
    return _object(
        {
            "id": _string(),
            "status": _event_status(),
            "body": _string(),
            "incident_id": _string(),
            "created_at": _time(),
            "updated_at": _time(),
            "display_at": _time(),
            "affected_components": {"type": ["array", "null"]},
            "deliver_notifications": {"type": "boolean"},
        }
    )


def _event() -> Json:
    return _object(
        {
            "id": _string(),
            "name": _string(),
            "status": _event_status(),
            "created_at": _time(),
            "updated_at": _time(),
            "monitoring_at": _time(nullable=True),
            "resolved_at": _time(nullable=True),
            "impact": {"type": "string", "enum": [*(i.value for i in Impact), "maintenance"]},
            "shortlink": _string(),
            "started_at": _time(nullable=True),
            "page_id": _string(),
            "incident_updates": _list_of("IncidentUpdate"),
            "components": _list_of("Component"),
            "scheduled_for": _time(),
            "scheduled_until": _time(),
            "reminder_intervals": _string(nullable=True),
        },
        optional=("scheduled_for", "scheduled_until", "reminder_intervals"),
    )


def _component() -> Json:
    return _object(
        {
            "id": _string(),
            "name": _string(),
            "status": {"type": "string", "enum": [s.value for s in ComponentStatus]},
            "created_at": _time(),
            "updated_at": _time(),
            "position": {"type": "integer"},
            "description": _string(nullable=True),
            "group_id": _string(nullable=True),
            "page_id": _string(),
            "group": {"type": "boolean"},
            "components": {"type": "array", "items": _string()},
        },
        optional=("components",),
    )


def _page() -> Json:
    return _object(
        {
            "id": _string(),
            "name": _string(),
            "url": _string(),
            "time_zone": _string(),
            "updated_at": _time(),
        }
    )


def _status() -> Json:
    return _object(
        {
            "indicator": {"type": "string", "enum": [i.value for i in Indicator]},
            "description": _string(),
        }
    )


def _operation(path: str, summary: str, schema: str) -> Json:
    return {
        "get": {
            "summary": summary,
            "operationId": "get_" + path.removesuffix(".json").replace("/", "_").replace("-", "_"),
            "parameters": [
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "the document",
                    "content": {"application/json": {"schema": _ref(schema)}},
                },
                "304": {"description": "unchanged since the ETag given in If-None-Match"},
            },
        }
    }


def document(*, public_url: str) -> Json:
    """OpenAPI 3.1 for the Statuspage-compatible read-only API, same paths and fields."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Public status API v2 (Statuspage-compatible)", "version": "2"},
        "servers": [{"url": public_url}],
        "paths": {
            **{
                f"/api/v2/{path}": _operation(path, summary, schema)
                for path, (summary, schema) in _PATHS.items()
            },
            "/api/networks.json": _language_operation(
                "networks.json",
                "Deposit and withdrawal state per asset and network",
                "Networks",
                {"asset": _ASSET_FILTER},
            ),
            "/api/notices.json": _refusing(
                _language_operation(
                    "notices.json",
                    "Open incidents and pending maintenance touching the components asked for",
                    "Notices",
                    _NOTICE_FILTERS,
                )
            ),
        },
        "components": {"schemas": _schemas()},
    }
