"""JSON-safe snapshots of rows for the audit log's before/after."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect


def snapshot(row: Any) -> dict[str, object]:
    state = inspect(row)
    taken: dict[str, object] = {
        attr.key: _jsonable(getattr(row, attr.key)) for attr in state.mapper.column_attrs
    }
    if "components" in state.mapper.relationships and "components" not in state.unloaded:
        taken["component_ids"] = sorted(component.id for component in row.components)
    return taken


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value
