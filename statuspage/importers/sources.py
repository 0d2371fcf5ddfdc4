"""Reading a source: JSON over HTTP with a timeout and a size cap, and errors that say what
went wrong and where (the URL and the JSON path)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

TIMEOUT_SECONDS = 30.0  # to connect, and between two reads
TOTAL_SECONDS = 120.0  # for one whole answer: a server dripping bytes is cut off too
MAX_BYTES = 20 * 1024 * 1024  # a page's whole history of incidents fits in a few MB
MAX_PAGES = 1_000  # of one paged listing (100,000 incidents): past that a source is looping


class SourceError(Exception):
    """What is wrong with a source, naming the URL (or file) and the JSON path."""

    def __init__(
        self, where: str, path: str, message: str, *, http_status: int | None = None
    ) -> None:
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        self.where = where
        self.path = path
        self.http_status = http_status  # the source's answer, when it was not 200


@dataclass(frozen=True)
class Node:
    """A JSON value with where it was found, so every read can name its place."""

    value: Any
    where: str
    path: str = "$"

    def fail(self, message: str) -> SourceError:
        return SourceError(self.where, self.path, message)

    def _child(self, value: Any, step: str) -> Node:
        return Node(value, self.where, self.path + step)

    def field(self, name: str) -> Node:
        if not isinstance(self.value, Mapping):
            raise self.fail(f"expected an object, found {_kind(self.value)}")
        if name not in self.value:
            raise self._child(None, f".{name}").fail("missing")
        return self._child(self.value[name], f".{name}")

    def optional(self, name: str) -> Node:
        """The field, or a null node when it is absent."""
        if isinstance(self.value, Mapping) and name not in self.value:
            return self._child(None, f".{name}")
        return self.field(name)

    def items(self) -> Iterator[Node]:
        if not isinstance(self.value, list):
            raise self.fail(f"expected a list, found {_kind(self.value)}")
        for index, value in enumerate(self.value):
            yield self._child(value, f"[{index}]")

    def list_or_none(self) -> Iterator[Node]:
        return iter(()) if self.value is None else self.items()

    def text(self) -> str:
        if not isinstance(self.value, str):
            raise self.fail(f"expected a string, found {_kind(self.value)}")
        return self.value

    def text_or_none(self) -> str | None:
        return None if self.value is None else self.text()

    def id_or_none(self) -> str | None:
        """An id: Statuspage's are strings; a number is read as its digits."""
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return str(self.value)
        return self.text_or_none()

    def text_or(self, default: str) -> str:
        return default if self.value is None else self.text()

    def integer_or(self, default: int) -> int:
        if self.value is None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail(f"expected an integer, found {_kind(self.value)}")
        return self.value

    def flag_or(self, default: bool) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.fail(f"expected true or false, found {_kind(self.value)}")
        return self.value

    def time(self) -> datetime:
        text = self.text()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{text!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise self.fail(f"{text!r} has no UTC offset")
        return moment

    def time_or_none(self) -> datetime | None:
        return None if self.value is None else self.time()

    def utc_time(self) -> datetime:
        """A time that may carry no offset ("2024-05-01 08:30:00", as Cachet and Uptime Kuma
        write their database's UTC times): read as UTC then."""
        text = self.text()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{text!r} is not a time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def utc_time_or_none(self) -> datetime | None:
        return None if self.value is None else self.utc_time()

    def choice(self, allowed: Iterator[str] | tuple[str, ...] | frozenset[str]) -> str:
        text, options = self.text(), tuple(allowed)
        if text not in options:
            raise self.fail(f"{text!r} is not one of {', '.join(sorted(options))}")
        return text


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false"}.get(
        type(value), type(value).__name__
    )


async def get_json(
    client: httpx.AsyncClient, url: str, *, headers: Mapping[str, str] | None = None
) -> Node:
    """GETs `url` and parses it, refusing more than MAX_BYTES; the answer names `url`."""
    try:
        async with asyncio.timeout(TOTAL_SECONDS):
            body = await _read(client, url, headers)
    except TimeoutError:
        raise SourceError(url, "", f"took longer than {TOTAL_SECONDS:.0f} s") from None
    except httpx.HTTPError as error:
        raise SourceError(url, "", f"cannot be read: {error.__class__.__name__}: {error}") from None
    return parse_json(body, url)


async def _read(client: httpx.AsyncClient, url: str, headers: Mapping[str, str] | None) -> bytes:
    async with client.stream("GET", url, headers=headers, timeout=TIMEOUT_SECONDS) as reply:
        if reply.status_code != 200:
            raise SourceError(
                url, "", f"HTTP {reply.status_code} (expected 200)", http_status=reply.status_code
            )
        body = bytearray()
        async for chunk in reply.aiter_bytes():  # decoded: a small gzip bomb is counted whole
            body.extend(chunk)
            if len(body) > MAX_BYTES:
                raise SourceError(url, "", f"larger than {MAX_BYTES} bytes")
    return bytes(body)


def parse_json(body: bytes, where: str) -> Node:
    try:
        return Node(json.loads(body), where)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(where, "", f"is not JSON ({error})") from None


async def paged(
    client: httpx.AsyncClient,
    first: str,
    next_url: Callable[[Node], str | None],
    *,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[Node]:
    """Each page of a listing, from `first` on: `next_url` reads the next page's address from
    one (None: that was the last). More than MAX_PAGES fails, naming the last URL."""
    url: str | None = first
    for _ in range(MAX_PAGES):
        assert url is not None
        listing = await get_json(client, url, headers=headers)
        yield listing
        url = next_url(listing)
        if url is None:
            return
    raise SourceError(url or first, "", f"more than {MAX_PAGES} pages: is the source looping?")
