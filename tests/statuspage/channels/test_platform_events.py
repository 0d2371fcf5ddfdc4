"""Pulling fee events page by page from a real local HTTP server playing the platform."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from compensation.events import AccountEvent, Rejection
from compensation.intake import SourceUnavailable
from statuspage.channels.platform_events import pull_events
from tests.compensation.events import json_record, make_event


class _Platform:
    """A real HTTP server on a free local port serving pages of events by cursor."""

    def __init__(self, pages: dict[str | None, tuple[int, bytes]]) -> None:
        self.pages = pages
        self.requests: list[tuple[dict[str, list[str]], str | None]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as tests/receivers.py: no 40 ms a reply

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                platform.requests.append((query, self.headers.get("authorization")))
                status, body = platform.pages[query.get("cursor", [None])[0]]
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/fee-events"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )


@pytest.fixture
def platform() -> Iterator[_Platform]:
    server = _Platform({})
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _page(records: list[bytes], cursor: str | None) -> tuple[int, bytes]:
    return 200, b'{"data": [' + b", ".join(records) + b'], "next_cursor": ' + json.dumps(
        cursor
    ).encode() + b"}"


async def _pull(platform: _Platform, token: str | None) -> list[AccountEvent | Rejection]:
    async with httpx.AsyncClient() as client:
        events = pull_events(client, platform.url, params={"since": "2026-11-27"}, token=token)
        return [outcome async for outcome in events]


async def test_pull_walks_the_pages_with_the_cursor_and_the_token(platform: _Platform) -> None:
    platform.pages = {
        None: _page([json_record(), json_record(kind="refund")], "c2"),
        "c2": _page([], "c3 +/&"),
        "c3 +/&": _page(
            [json_record(account_id="u-2", fee=None).replace(b"null", b"0.5"), b"7"], None
        ),
    }
    assert await _pull(platform, "s3cret") == [
        make_event(1),
        Rejection(2, "kind: 'refund' is not one of deposit, trade, withdrawal"),
        make_event(3, account_id="u-2", fee=Decimal("0.5")),
        Rejection(4, "line: not a JSON object"),
    ]
    assert platform.requests == [
        ({"since": ["2026-11-27"]}, "Bearer s3cret"),
        ({"since": ["2026-11-27"], "cursor": ["c2"]}, "Bearer s3cret"),
        ({"since": ["2026-11-27"], "cursor": ["c3 +/&"]}, "Bearer s3cret"),
    ]


async def test_pull_without_a_token_sends_no_authorization(platform: _Platform) -> None:
    platform.pages = {None: _page([json_record()], None)}
    assert await _pull(platform, None) == [make_event(1)]
    assert platform.requests == [({"since": ["2026-11-27"]}, None)]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((503, b'{"error": "maintenance"}'), "page 2: the source answered 503"),
        ((200, b"<html>login</html>"), "page 2: the answer is not JSON"),
        ((200, b'{"data": {}, "next_cursor": null}'), "page 2: expected"),
        ((200, b'{"data": [], "next_cursor": 5}'), "page 2: expected"),
        ((200, b"[]"), "page 2: expected"),
    ],
)
async def test_pull_a_failing_page_raises_after_the_good_pages(
    platform: _Platform, answer: tuple[int, bytes], message: str
) -> None:
    platform.pages = {None: _page([json_record()], "c2"), "c2": answer}
    seen: list[AccountEvent | Rejection] = []
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceUnavailable, match=f"^{message}") as caught:
            async for outcome in pull_events(client, platform.url, params={}, token="t"):
                seen.append(outcome)
    assert seen == [make_event(1)]
    assert (caught.value.status_code, caught.value.code) == (502, "source_unavailable")


async def test_pull_stops_at_max_pages(platform: _Platform) -> None:
    platform.pages = {
        None: _page([json_record()], "again"),
        "again": _page([json_record()], "again"),
    }
    async with httpx.AsyncClient() as client:
        events = pull_events(client, platform.url, params={}, token=None, max_pages=3)
        with pytest.raises(SourceUnavailable, match=r"^the source has more than 3 pages$"):
            _ = [outcome async for outcome in events]
    assert len(platform.requests) == 3


async def test_pull_an_unreachable_source_is_unavailable(platform: _Platform) -> None:
    platform.server.shutdown()
    platform.server.server_close()
    async with httpx.AsyncClient() as client:
        events = pull_events(client, platform.url, params={}, token=None)
        with pytest.raises(
            SourceUnavailable, match=r"^page 1: could not reach the source \(ConnectError\)$"
        ):
            await anext(events)
