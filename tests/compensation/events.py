"""Factories of fee events as the intake reads them: a valid event, and its JSON record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from compensation.events import AccountEvent, EventKind

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def make_event(line: int, **changes: Any) -> AccountEvent:
    fields: dict[str, Any] = {
        "account_id": "u-1001",
        "asset": "BTC",
        "fee": Decimal("0.00012345"),
        "volume": Decimal("1.5"),
        "kind": EventKind.trade,
        "component": "3",
        "at": AT,
    }
    return AccountEvent(line=line, **{**fields, **changes})


def json_record(**changes: Any) -> bytes:
    record: dict[str, Any] = {
        "account_id": "u-1001",
        "asset": "BTC",
        "fee": "0.00012345",
        "volume": "1.5",
        "kind": "trade",
        "component": "3",
        "at": "2026-11-27T09:30:00Z",
    }
    return json.dumps({**record, **changes}).encode()
