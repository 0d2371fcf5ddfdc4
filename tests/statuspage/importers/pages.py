"""A recorded Statuspage page served by a real local HTTP server, as the importer reads it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.receivers import HttpReceiver, Received, Reply

RECORDED = Path(__file__).parent / "statuspage_pages"
PAGE_ID = "mn7l2lw8pz4p"

# path on the server -> recorded file
ROUTES = {
    "/api/v2/summary.json": "summary.json",
    "/api/v2/components.json": "components.json",
    "/api/v2/incidents.json": "incidents.json",
    "/api/v2/scheduled-maintenances.json": "scheduled-maintenances.json",
    f"/v1/pages/{PAGE_ID}/component-groups": "v1-component-groups.json",
    f"/v1/pages/{PAGE_ID}/components": "v1-components.json",
    f"/v1/pages/{PAGE_ID}/incidents": "v1-incidents.json",
    f"/v1/pages/{PAGE_ID}/subscribers": "v1-subscribers.json",
}


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text("utf-8"))


class RecordedPage:
    """Serves the recorded files; a test may replace one file's bytes or its status."""

    def __init__(self, receiver: HttpReceiver) -> None:
        self.receiver = receiver
        self.replaced: dict[str, Reply] = {}
        receiver.answer = self._answer

    def url(self) -> str:
        return self.receiver.url("")

    def replace(self, name: str, body: bytes | Any, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.replaced[name] = Reply(status=status, body=raw)

    def edit(self, name: str, change: Callable[[Any], None]) -> None:
        data = recorded(name)
        change(data)
        self.replace(name, data)

    def _answer(self, got: Received) -> Reply:
        path, _, query = got.path.partition("?")
        name = ROUTES.get(path)
        if name is None:
            return Reply(status=404, body=b'{"error":"not found"}')
        if path.startswith("/v1/") and got.headers.get("authorization") != "OAuth test-key":
            return Reply(status=401, body=b'{"error":"unauthorized"}')
        if name in self.replaced:
            return self.replaced[name]
        if "page=2" in query:
            return Reply(body=b"[]")
        return Reply(body=(RECORDED / name).read_bytes())
