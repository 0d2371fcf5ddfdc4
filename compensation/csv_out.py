"""CSV lines for exports (RFC 4180, CRLF) that a spreadsheet opens as text, never as a formula."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

__all__ = ["csv_cell", "csv_header", "csv_row"]

# A spreadsheet reads a cell starting with these as a formula (or strips the tab/CR and then
# does): a leading quote makes it text. OWASP's list for CSV injection.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = frozenset(',"\r\n')


def _text(text: str) -> str:
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    if _NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime ({value.isoformat()}) cannot be exported as UTC")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_cell(value: object) -> str:
    """One cell: Decimals in plain digits (never 1E-8), aware datetimes as UTC with Z, None as
    empty, booleans as true/false, anything else as its text made safe."""
    if type(value) is str:  # the common cases first, by exact type (a bool is not an int here)
        return _text(value)
    if type(value) is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not an amount")
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, float):
        raise TypeError("a float has no place in an export: use Decimal")
    return _text(str(value))


def csv_row(values: Sequence[object]) -> str:
    """One CRLF-terminated line."""
    line = ",".join([csv_cell(value) for value in values])
    if line == "" and len(values) == 1:
        line = '""'  # a lone empty cell, quoted so that the line is not read as blank
    return line + "\r\n"


def csv_header(names: Sequence[str]) -> str:
    return csv_row(names)
