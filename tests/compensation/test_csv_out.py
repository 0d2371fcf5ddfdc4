"""Export lines: RFC 4180 read back exactly by the csv module, and never a spreadsheet formula."""

from __future__ import annotations

import csv
import enum
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compensation.csv_out import csv_cell, csv_header, csv_row

BIG = "12345678901234567890.123456789012345678"


def _read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


class State(enum.StrEnum):
    issued = "issued"


def test_a_voucher_row_as_finance_opens_it() -> None:
    row = csv_row(
        [
            17,
            "7KQ2-M9XD-4T1B-ZR8C-HW",
            "u-1001",
            "BTC",
            Decimal("0.00000001"),
            State.issued,
            datetime(2026, 11, 27, 17, 30, tzinfo=timezone(timedelta(hours=8))),
            datetime(2026, 12, 27, 9, 30, 0, 250000, tzinfo=UTC),
            None,
            True,
        ]
    )
    assert row == (
        "17,7KQ2-M9XD-4T1B-ZR8C-HW,u-1001,BTC,0.00000001,issued,"
        "2026-11-27T09:30:00Z,2026-12-27T09:30:00.250000Z,,true\r\n"
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0E-18"), "0.000000000000000000"),
        (Decimal(BIG), BIG),
        (Decimal("-0.5"), "-0.5"),
        (-3, "-3"),
        (0, "0"),
        (False, "false"),
        (date(2026, 11, 27), "2026-11-27"),
        (None, ""),
        ("", ""),
    ],
)  # fmt: skip
def test_values_are_written_plainly(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("-5", "'-5"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("'quoted", "'quoted"),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_made_text(text: str, cell: str) -> None:
    assert _read_back(csv_row([text, "x"])) == [[cell, "x"]]


@pytest.mark.parametrize(
    "text",
    ["a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "撮合引擎，钱包", '"', ",", "\n"],
)
def test_commas_quotes_newlines_and_chinese_survive(text: str) -> None:
    line = csv_row([1, text, Decimal("2.50")])
    assert line.endswith("\r\n")
    assert _read_back(line) == [["1", text, "2.50"]]


def test_quoting_is_rfc_4180() -> None:
    assert csv_row(['say "hi"', "a,b", "plain"]) == '"say ""hi""","a,b",plain\r\n'
    assert csv_row(["=1,2"]) == '"\'=1,2"\r\n'


def test_a_lone_empty_cell_is_still_a_row() -> None:
    assert csv_row([None]) == '""\r\n'
    assert _read_back(csv_row([None]) + csv_row(["a"])) == [[""], ["a"]]


def test_header() -> None:
    assert csv_header(["id", "code", "amount, BTC", "=evil"]) == (
        'id,code,"amount, BTC",\'=evil\r\n'
    )


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (datetime(2026, 11, 27, 9, 30), ValueError, "naive datetime"),  # noqa: DTZ001
        (Decimal("NaN"), ValueError, "NaN is not an amount"),
        (Decimal("Infinity"), ValueError, "Infinity is not an amount"),
        (0.1, TypeError, "use Decimal"),
    ],
)
def test_what_cannot_be_exported_exactly_is_refused(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        csv_row([value])


@given(
    st.lists(
        st.one_of(
            st.text(),
            st.none(),
            st.integers(),
            st.decimals(allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_row_reads_back_cell_for_cell(values: list[object]) -> None:
    line = csv_row(values)
    assert line.endswith("\r\n")
    expected = [csv_cell(value) for value in values]
    expected = [
        cell[1:-1].replace('""', '"') if cell.startswith('"') else cell for cell in expected
    ]
    assert _read_back(line) == [expected]
    for value, cell in zip(values, expected, strict=True):
        if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
            assert cell == "'" + value
        elif isinstance(value, str):
            assert cell == value
        elif isinstance(value, Decimal):
            assert Decimal(cell) == value
            assert "E" not in cell
