"""Streaming intake of the platform's fee events (CSV, JSON Lines, records of its paged API),
line by line; each line's fields are validated in `compensation.events`."""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import AsyncIterator
from typing import Any

from compensation.errors import DomainError, InvalidInput
from compensation.events import InvalidField, Outcome, Rejection, validated_event
from incidents.common.errors import N_, Invalid

__all__ = [
    "IntakeFormat",
    "SourceUnavailable",
    "event_from_record",
    "parse_json",
    "read_event_batches",
    "read_events",
]


class IntakeFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class SourceUnavailable(DomainError):
    """The platform's event API answered with an error or with something that is not a page."""

    status_code = 502
    code = "source_unavailable"


COLUMNS = ("account_id", "asset", "fee", "volume", "kind", "component", "at")
EVENT_ID = "event_id"  # optional: the platform's own id of each event
BATCH_LINES = 4096  # a chunk of any size comes out in lists no longer than this
_BOM = b"\xef\xbb\xbf"


# -- bytes to lines -----------------------------------------------------------------------


class _Lines:
    """Splits chunks into physical lines (without their newline); a line longer than the limit
    comes out as None once, and the rest of it is dropped up to the next newline."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max = max_line_bytes
        self.pending = b""
        self.skipping = False

    def _too_long(self, line: bytes) -> bool:
        return len(line) > self.max and not (len(line) == self.max + 1 and line[-1] == 13)

    def feed(self, chunk: bytes) -> list[bytes | None]:
        if self.skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            self.skipping = False
            chunk = chunk[end + 1 :]
        parts = (self.pending + chunk).split(b"\n")
        self.pending = parts.pop()
        limit = self.max
        lines = [line if len(line) <= limit or not self._too_long(line) else None for line in parts]
        if self._too_long(self.pending):
            lines.append(None)
            self.pending = b""
            self.skipping = True
        return lines

    def finish(self) -> list[bytes | None]:
        rest, self.pending = self.pending, b""
        return [rest] if rest else []


async def _physical_lines(
    chunks: AsyncIterator[bytes], max_line_bytes: int
) -> AsyncIterator[list[bytes | None]]:
    splitter = _Lines(max_line_bytes)
    head: bytes | None = b""  # the first bytes, until there are enough to tell a BOM
    async for chunk in chunks:
        if head is not None:
            head += chunk
            if len(head) < len(_BOM):
                continue
            chunk, head = head.removeprefix(_BOM), None
        if lines := splitter.feed(chunk):
            yield lines
    lines = splitter.feed(head.removeprefix(_BOM)) if head else []
    if lines := lines + splitter.finish():
        yield lines


def _decode(line: bytes) -> str:
    try:
        return line.decode()
    except UnicodeDecodeError as error:
        raise InvalidField(
            N_("line: not valid UTF-8 (byte %(value)s)"), value=error.start + 1
        ) from None


# -- CSV ----------------------------------------------------------------------------------


class _Csv:
    """Turns physical lines into events; a quoted field may run over several lines."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max = max_line_bytes
        self.columns: list[int] | None = None
        self.event_column: int | None = None
        self.width = 0
        self.open: tuple[int, str] | None = None  # a record whose quoted field is not closed

    def _header(self, fields: list[str]) -> None:
        names = [name.strip().lower() for name in fields]
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            raise InvalidInput(
                N_("the header row has no column %(missing)s; it needs %(needed)s in any order"),
                field="file",
                missing=", ".join(missing),
                needed=", ".join(COLUMNS),
            )
        self.columns = [names.index(column) for column in COLUMNS]
        self.event_column = names.index(EVENT_ID) if EVENT_ID in names else None
        self.width = len(names)

    def feed(self, number: int, line: bytes | None, out: list[Outcome]) -> None:
        if line is None:
            self._reject_open(out)
            self._refuse(number, N_("line: longer than %(max)s bytes") % {"max": self.max}, out)
            return
        try:
            text = _decode(line[:-1] if line.endswith(b"\r") else line)
        except InvalidField as error:
            self._reject_open(out)
            self._refuse(number, str(error), out)
            return
        if self.open is not None:
            number, text = self.open[0], f"{self.open[1]}\n{text}"
            self.open = None
        elif not text:
            return
        if '"' not in text:
            self._record(number, text.split(","), out)
            return
        try:
            self._record(number, next(csv.reader([text], strict=True)), out)
        except csv.Error as error:
            if "unexpected end of data" not in str(error):
                self._refuse(number, f"line: {error}", out)
            elif len(text.encode()) > self.max:
                past = N_("line: a quoted field runs past %(max)s bytes") % {"max": self.max}
                self._refuse(number, past, out)
            else:
                self.open = (number, text)

    def _refuse(self, number: int, reason: str, out: list[Outcome]) -> None:
        if self.columns is None:  # nothing can be read without the header
            raise InvalidInput(
                N_("the header row cannot be read: %(reason)s"), field="file", reason=reason
            )
        out.append(Rejection(number, reason))

    def _reject_open(self, out: list[Outcome]) -> None:
        if self.open is not None:
            self._refuse(self.open[0], N_("line: a quoted field is not closed"), out)
            self.open = None

    def _record(self, number: int, fields: list[str], out: list[Outcome]) -> None:
        if self.columns is None:
            self._header(fields)
        elif len(fields) == self.width:
            a, b, c, d, e, f, g = self.columns
            fields7 = (fields[a], fields[b], fields[c], fields[d], fields[e], fields[f], fields[g])
            event_id = None if self.event_column is None else fields[self.event_column]
            out.append(validated_event(number, fields7, event_id))
        elif len(fields) > 1 or fields[0].strip():  # not a line of spaces
            reason = N_("line: %(count)s columns, expected %(width)s as in the header") % {
                "count": len(fields),
                "width": self.width,
            }
            out.append(Rejection(number, reason))

    def finish(self, out: list[Outcome]) -> None:
        self._reject_open(out)
        if self.columns is None:
            raise InvalidInput(N_("the file is empty: it needs a header row"), field="file")


# -- JSON Lines and API pages ---------------------------------------------------------------


class _JsonNumber(str):
    """A JSON number kept as the text it was written as, so no amount ever passes a float."""

    __slots__ = ()


def _no_constant(name: str) -> Any:
    raise Invalid(N_("%(name)s is not a number"), name=name)


_JSON = json.JSONDecoder(
    parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=_no_constant
)


def _text(record: dict[str, Any], key: str, *, number_ok: bool = False) -> str:
    value = record.get(key)
    if type(value) is str or (number_ok and type(value) is _JsonNumber):
        return value
    if value is None:
        raise InvalidField(N_("%(key)s: missing"), key=key)
    kind = "a number" if type(value) is _JsonNumber else type(value).__name__
    raise InvalidField(
        N_("%(key)s: expected %(value)s, got %(kind)s"),
        key=key,
        value=N_("a string or a number") if number_ok else N_("a string"),
        kind=kind,
    )


def _event_id(record: dict[str, Any]) -> str | None:
    value = record.get(EVENT_ID)
    if value is None or isinstance(value, str):  # a number's text is a str too
        return value
    raise InvalidField(
        N_("%(EVENT_ID)s: expected a string or a number, got %(kind)s"),
        EVENT_ID=EVENT_ID,
        kind=type(value).__name__,
    )


def _json_event(number: int, record: object) -> Outcome:
    if type(record) is not dict:
        return Rejection(number, N_("line: not a JSON object"))
    get = record.get
    event_id = get(EVENT_ID)
    account_id, asset, kind, component, at = (
        get("account_id"),
        get("asset"),
        get("kind"),
        get("component"),
        get("at"),
    )
    fee, volume = get("fee"), get("volume")
    if (  # the usual case, checked without a call per field
        type(account_id) is type(asset) is type(kind) is type(component) is type(at) is str
        and isinstance(fee, str)
        and isinstance(volume, str)
        and (event_id is None or type(event_id) is str)
    ):
        fields = (account_id, asset, fee, volume, kind, component, at)
        return validated_event(number, fields, event_id)
    try:
        fields = (
            _text(record, "account_id"),
            _text(record, "asset"),
            _text(record, "fee", number_ok=True),
            _text(record, "volume", number_ok=True),
            _text(record, "kind"),
            _text(record, "component"),
            _text(record, "at"),
        )
        event_id = _event_id(record)
    except InvalidField as error:
        return Rejection(number, str(error))
    return validated_event(number, fields, event_id)


def _json_line(number: int, line: bytes | None, max_line_bytes: int) -> Outcome | None:
    if line is None:
        return Rejection(number, N_("line: longer than %(max)s bytes") % {"max": max_line_bytes})
    try:
        text = _decode(line)
    except InvalidField as error:
        return Rejection(number, str(error))
    if not text or text.isspace():
        return None
    try:
        record, end = _JSON.raw_decode(text, len(text) - len(text.lstrip()))
        if end != len(text) and not text[end:].isspace():
            raise json.JSONDecodeError("Extra data", text, end)
    except RecursionError:
        return Rejection(number, N_("line: not valid JSON (nested too deeply)"))
    except ValueError as error:
        where = f" at column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return Rejection(
            number, N_("line: not valid JSON (%(problem)s)") % {"problem": message + where}
        )
    return _json_event(number, record)


# -- the public entry points -----------------------------------------------------------------


async def read_event_batches(
    chunks: AsyncIterator[bytes], *, format: IntakeFormat, max_line_bytes: int = 65536
) -> AsyncIterator[list[Outcome]]:
    """Like read_events, in lists of at most BATCH_LINES lines' outcomes: the fast way."""
    number = 0
    parser = _Csv(max_line_bytes) if IntakeFormat(format) is IntakeFormat.csv else None
    async for lines in _physical_lines(chunks, max_line_bytes):
        for start in range(0, len(lines), BATCH_LINES):
            out: list[Outcome] = []
            for line in lines[start : start + BATCH_LINES]:
                number += 1
                if parser is not None:
                    parser.feed(number, line, out)
                elif (outcome := _json_line(number, line, max_line_bytes)) is not None:
                    out.append(outcome)
            if out:
                yield out
    if parser is not None:
        out = []
        parser.finish(out)
        if out:
            yield out


async def read_events(
    chunks: AsyncIterator[bytes], *, format: IntakeFormat, max_line_bytes: int = 65536
) -> AsyncIterator[Outcome]:
    """Every line's event or the reason it was refused, in file order. A CSV without the
    needed header columns raises InvalidInput (field "file") before any line comes out."""
    async for batch in read_event_batches(chunks, format=format, max_line_bytes=max_line_bytes):
        for outcome in batch:
            yield outcome


def event_from_record(number: int, record: object) -> Outcome:
    """One record of the platform's paged API, read as a JSON Lines record is."""
    return _json_event(number, record)


def parse_json(text: str) -> Any:
    """JSON as the intake reads it: numbers kept as written, no NaN or Infinity."""
    return _JSON.decode(text)
