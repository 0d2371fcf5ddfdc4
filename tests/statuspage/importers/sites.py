"""Recorded Cachet and Uptime Kuma sites served by a real local HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.receivers import HttpReceiver, Received, Reply

HERE = Path(__file__).parent


class RecordedSite:
    """Answers GETs from recorded files: `route(path, query)` names the file (None: 404).
    A test may replace one file's bytes or its status, or edit its JSON."""

    def __init__(
        self,
        receiver: HttpReceiver,
        folder: str,
        route: Callable[[str, str], str | None],
        token: str | None = None,
    ) -> None:
        self.receiver = receiver
        self.folder = HERE / folder
        self.route = route
        self.token = token  # when set, a request without this bearer token gets a 401
        self.replaced: dict[str, Reply] = {}
        receiver.answer = self._answer

    def url(self) -> str:
        return self.receiver.url("")

    def recorded(self, name: str) -> Any:
        return json.loads((self.folder / name).read_text("utf-8"))

    def replace(self, name: str, body: bytes | Any, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.replaced[name] = Reply(status=status, body=raw)

    def edit(self, name: str, change: Callable[[Any], None]) -> None:
        data = self.recorded(name)
        change(data)
        self.replace(name, data)

    def paths(self) -> list[str]:
        return [got.path for got in self.receiver.received]

    def _answer(self, got: Received) -> Reply:
        path, _, query = got.path.partition("?")
        name = self.route(path, query)
        if name is None:
            return Reply(status=404, body=b'{"status":"fail","msg":"Not Found"}')
        if self.token and got.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(status=401, body=b'{"message":"Unauthenticated."}')
        if name in self.replaced:
            return self.replaced[name]
        return Reply(body=(self.folder / name).read_bytes())


def cachet_route(path: str, query: str) -> str | None:
    """Cachet 3's API under /api; components come in two pages (links.next)."""
    if not path.startswith("/api/"):
        return None
    name = path.removeprefix("/api/")
    if name.startswith("incidents/"):
        return f"incident-{name.removeprefix('incidents/')}.json"
    if name == "components" and "page=2" in query:
        return "components-2.json"
    return (
        f"{name}.json"
        if name in {"component-groups", "components", "incidents", "schedules"}
        else None
    )


def cachet(receiver: HttpReceiver, token: str | None = None) -> RecordedSite:
    return RecordedSite(receiver, "cachet_pages", cachet_route, token)


def kuma_route(path: str, query: str) -> str | None:
    """Uptime Kuma's status-page API for the page `exchange`; the history comes in two pages."""
    routes = {
        "/api/status-page/exchange": "status-page.json",
        "/api/status-page/heartbeat/exchange": "heartbeat.json",
        "/api/status-page/exchange/incident-history": "incident-history.json",
    }
    name = routes.get(path)
    if name == "incident-history.json" and query.startswith("cursor="):
        return "incident-history-2.json"
    return name


def uptime_kuma(receiver: HttpReceiver) -> RecordedSite:
    return RecordedSite(receiver, "uptime_kuma_pages", kuma_route)
