"""Streaming intake of fee events: every line becomes an event or a rejection naming its field."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compensation.errors import InvalidInput
from compensation.events import AccountEvent, EventKind, Rejection
from compensation.intake import IntakeFormat, _Lines, read_event_batches, read_events
from tests.compensation.events import json_record, make_event

HEADER = b"account_id,asset,fee,volume,kind,component,at\r\n"


async def _chunks(data: bytes | Sequence[bytes]) -> AsyncIterator[bytes]:
    for chunk in [data] if isinstance(data, bytes) else data:
        yield chunk


async def _read(
    data: bytes | Sequence[bytes], format: IntakeFormat = IntakeFormat.csv, **options: int
) -> list[AccountEvent | Rejection]:
    return [outcome async for outcome in read_events(_chunks(data), format=format, **options)]


GOOD_ROW = b"u-1001,BTC,0.00012345,1.5,trade,3,2026-11-27T09:30:00Z"


# -- CSV ---------------------------------------------------------------------------------


async def test_csv_columns_in_any_order_with_extra_columns_and_offsets_turned_into_utc() -> None:
    data = (
        b"at,kind,note,account_id,component,volume,fee,asset\n"
        b"2026-11-27T17:30:00+08:00,withdrawal,vip,acct.7@x,Matching engine,2,0.5,usdt\n"
        b"2026-11-27T09:30:00Z,deposit,,u-1001,3,10.25,0,ETH\n"
    )
    assert await _read(data) == [
        make_event(
            2,
            account_id="acct.7@x",
            asset="USDT",
            fee=Decimal("0.5"),
            volume=Decimal("2"),
            kind=EventKind.withdrawal,
            component="Matching engine",
        ),
        make_event(
            3, asset="ETH", fee=Decimal("0"), volume=Decimal("10.25"), kind=EventKind.deposit
        ),
    ]


async def test_csv_bom_crlf_blank_lines_and_spaces_around_values() -> None:
    data = (
        b"\xef\xbb\xbf"
        + HEADER
        + b"\r\n"
        + b" u-1001 , btc , 0.00012345 , 1.5 , Trade , 3 , 2026-11-27T09:30:00Z \r\n"
        + b"\r\n"
        + GOOD_ROW
    )
    assert await _read(data) == [make_event(3), make_event(5)]


async def test_a_bom_split_across_chunks_is_still_a_bom() -> None:
    data = b"\xef\xbb\xbf" + HEADER + GOOD_ROW
    assert await _read([data[:1], data[1:2], data[2:5], data[5:]]) == [make_event(2)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"u-1001,BTC,0.000000001,1.5,trade,3,2026-11-27T09:30:00Z",
         "fee: BTC has 8 decimal places; 0.000000001 has 9"),
        (b"u-1001,USD,0.5,1.555,trade,3,2026-11-27T09:30:00Z",
         "volume: USD has 2 decimal places; 1.555 has 3"),
        (b"u-1001,BTC,-1,1.5,trade,3,2026-11-27T09:30:00Z",
         "fee: '-1' is not a plain non-negative decimal number"),
        (b"u-1001,BTC,1e-4,1.5,trade,3,2026-11-27T09:30:00Z",
         "fee: '1e-4' is not a plain non-negative decimal number"),
        (b"u-1001,BTC,,1.5,trade,3,2026-11-27T09:30:00Z",
         "fee: '' is not a plain non-negative decimal number"),
        (b"u-1001,BTC,1,99999999999999999999,trade,3,2026-11-27T09:30:00Z",
         "volume: 99999999999999999999 is too large"),
        (b"u-1001,BTC,0.1,1.5,trade,3,2026-11-27T09:30:00",
         "at: time zone missing (add Z or an offset such as +08:00)"),
        (b"u-1001,BTC,0.1,1.5,trade,3,yesterday",
         "at: 'yesterday' is not an ISO 8601 time"),
        (b"u-1001,BTC,0.1,1.5,refund,3,2026-11-27T09:30:00Z",
         "kind: 'refund' is not one of deposit, trade, withdrawal"),
        (b"u-1001,DOGE,0.1,1.5,trade,3,2026-11-27T09:30:00Z",
         "asset: 'DOGE' is not one of BTC, CNY, ETH, EUR, HKD, SGD, USD, USDC, USDT"),
        (b"u 1001,BTC,0.1,1.5,trade,3,2026-11-27T09:30:00Z",
         "account_id: 'u 1001' is not 1 to 64 of A-Z a-z 0-9 _ . : @ -"),
        (b",BTC,0.1,1.5,trade,3,2026-11-27T09:30:00Z",
         "account_id: '' is not 1 to 64 of A-Z a-z 0-9 _ . : @ -"),
        (b"u-1001,BTC,0.1,1.5,trade,  ,2026-11-27T09:30:00Z",
         "component: must be 1 to 200 characters"),
        (b"u-1001,BTC,0.1,1.5,trade,3",
         "line: 6 columns, expected 7 as in the header"),
        (b'u-1001,BTC,"0.1"x,1.5,trade,3,2026-11-27T09:30:00Z',
         "line: ',' expected after '\"'"),
    ],
)  # fmt: skip
async def test_csv_rejections_name_the_line_and_the_field(row: bytes, reason: str) -> None:
    data = HEADER + GOOD_ROW + b"\r\n" + row + b"\r\n" + GOOD_ROW + b"\r\n"
    assert await _read(data) == [make_event(2), Rejection(3, reason), make_event(4)]


async def test_a_component_of_200_characters_is_taken_and_201_refused() -> None:
    name = "撮合引擎" * 50
    data = (
        HEADER
        + f"u-1001,BTC,0.00012345,1.5,trade,{name},2026-11-27T09:30:00Z\n".encode()
        + f"u-1001,BTC,0.00012345,1.5,trade,{name}x,2026-11-27T09:30:00Z\n".encode()
    )
    assert await _read(data) == [
        make_event(2, component=name),
        Rejection(3, "component: must be 1 to 200 characters"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        b"account_id,asset,fee,volume,kind,component\n",
        b"account_id;asset;fee;volume;kind;component;at\n",
    ],
)
async def test_a_header_without_a_needed_column_refuses_the_whole_file(header: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"header row has no column .*at; it needs") as caught:
        await _read(header + GOOD_ROW)
    assert caught.value.field == "file"


async def test_a_missing_column_is_refused_before_any_line_is_used() -> None:
    data = b"account_id,fee,volume,kind,component,at\n" + b"u,1,1,trade,3,x\n"
    batches = read_event_batches(_chunks(data), format=IntakeFormat.csv)
    with pytest.raises(InvalidInput, match=r"^the header row has no column asset;") as caught:
        await anext(batches)
    assert caught.value.field == "file"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: it needs a header row"),
        (b"\r\n\r\n", "the file is empty: it needs a header row"),
        (
            b"account_id,asset,fee,volume,kind,component,\xff\n",
            "the header row cannot be read: line: not valid UTF-8 (byte 44)",
        ),
        (
            b'account_id,asset,fee,volume,kind,component,"at\n' + GOOD_ROW,
            "the header row cannot be read: line: a quoted field runs past 100 bytes",
        ),
        (b"account_id," * 20 + b"\n", "the header row cannot be read: line: longer than 100 bytes"),
    ],
)
async def test_a_file_without_a_usable_header_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{re.escape(message)}$") as caught:
        await _read(data, max_line_bytes=100)
    assert caught.value.field == "file"


async def test_quoted_fields_with_commas_quotes_and_newlines_span_lines() -> None:
    data = (
        HEADER
        + b'u-1001,BTC,0.00012345,1.5,trade,"Matching, ""spot""",2026-11-27T09:30:00Z\r\n'
        + b'u-1001,BTC,0.00012345,1.5,trade,"Wallet\r\n'
        + b"\r\n"
        + b'withdrawals",2026-11-27T09:30:00Z\r\n'
        + GOOD_ROW
        + b"\r\n"
    )
    assert await _read(data) == [
        make_event(2, component='Matching, "spot"'),
        make_event(3, component="Wallet\n\nwithdrawals"),
        make_event(6),
    ]


async def test_an_unclosed_quote_is_refused_at_the_end_of_the_file() -> None:
    data = HEADER + GOOD_ROW + b'\nu-1001,BTC,0.1,1.5,trade,"open\nmore'
    assert await _read(data) == [make_event(2), Rejection(3, "line: a quoted field is not closed")]


async def test_an_unclosed_quote_gives_up_past_the_line_limit_and_reading_goes_on() -> None:
    data = HEADER + b'u-1001,BTC,0.1,1.5,trade,"open\n' + b"x" * 60 + b"\n" + GOOD_ROW
    assert await _read(data, max_line_bytes=80) == [
        Rejection(2, "line: a quoted field runs past 80 bytes"),
        make_event(4),
    ]


async def test_bytes_that_are_not_utf8_refuse_only_their_line() -> None:
    data = HEADER + b"u-1001,BTC,0.1,1.5,trade,\xe6\x92,2026-11-27T09:30:00Z\n" + GOOD_ROW
    assert await _read(data) == [Rejection(2, "line: not valid UTF-8 (byte 26)"), make_event(3)]


async def test_a_long_line_is_refused_and_reading_resumes_at_the_next_line() -> None:
    long_row = b"u-1001,BTC,0.1,1.5,trade," + b"x" * 500 + b",2026-11-27T09:30:00Z"
    pieces = [HEADER, GOOD_ROW + b"\n", *[long_row[i : i + 7] for i in range(0, 530, 7)]]
    pieces += [b"\n", GOOD_ROW, b"\n", long_row]
    assert await _read(pieces, max_line_bytes=100) == [
        make_event(2),
        Rejection(3, "line: longer than 100 bytes"),
        make_event(4),
        Rejection(5, "line: longer than 100 bytes"),
    ]


async def test_a_line_of_exactly_the_limit_is_taken_even_with_its_carriage_return() -> None:
    row = b"u-1001,BTC,0.00012345,1.5,trade," + b"c" * 47 + b",2026-11-27T09:30:00Z"
    assert len(row) == 100
    pieces = [HEADER, row + b"\r", b"\n", row + b"\r\n"]
    assert await _read(pieces, max_line_bytes=100) == [
        make_event(2, component="c" * 47),
        make_event(3, component="c" * 47),
    ]


def test_a_long_line_is_dropped_while_it_streams_not_buffered_whole() -> None:
    splitter = _Lines(4096)
    held = []
    for _ in range(1000):
        assert splitter.feed(b"y" * 1000) in ([], [None])
        held.append(len(splitter.pending))
    assert max(held) <= 4096
    assert splitter.feed(b"yyy\n" + GOOD_ROW) == []
    assert splitter.finish() == [GOOD_ROW]


SAMPLE_CSV = (
    (
        "\ufeffaccount_id,asset,fee,volume,kind,component,at\r\n"
        "u-1001,BTC,0.00012345,1.5,trade,撮合引擎,2026-11-27T09:30:00Z\r\n"
        'u-1002,ETH,0.000000000000000001,2,deposit,"钱包, ""热""\r\n'
        '提现",2026-11-27T17:30:00+08:00\r\n'
        "\r\n"
        "u-1003,BTC,0.1,1.5,refund,3,2026-11-27T09:30:00Z\n"
        "u-1004,USD,0.01,7,withdrawal,Fiat rails,2026-11-27T09:30:00-05:00\r\n"
    ).encode()
    + b"u-1005,BTC,\xff,1,trade,3,2026-11-27T09:30:00Z\r\n"
    + GOOD_ROW
)

SAMPLE_JSONL = (
    '{"account_id":"u-1001","asset":"BTC","fee":0.00012345,"volume":"1.5","kind":"trade",'
    '"component":"撮合引擎","at":"2026-11-27T09:30:00Z"}\r\n'
    "\r\n"
    '{"account_id":"u-1002"}\n'
    '{"account_id":"u-1003","asset":"ETH","fee":"0.000000000000000001","volume":2,'
    '"kind":"deposit","component":"钱包","at":"2026-11-27T17:30:00+08:00"}\n'
).encode()


@settings(max_examples=200, deadline=None)
@given(st.data())
async def test_chunks_may_split_anywhere(data: st.DataObject) -> None:
    for sample, format in [(SAMPLE_CSV, IntakeFormat.csv), (SAMPLE_JSONL, IntakeFormat.jsonl)]:
        cuts = sorted(data.draw(st.sets(st.integers(1, len(sample) - 1), max_size=12)))
        bounds = zip([0, *cuts], [*cuts, len(sample)], strict=True)
        pieces = [sample[start:end] for start, end in bounds]
        assert await _read(pieces, format) == await _read(sample, format)


async def test_the_sample_file_reads_as_a_person_would_read_it() -> None:
    assert await _read(SAMPLE_CSV) == [
        make_event(2, component="撮合引擎"),
        make_event(
            3,
            account_id="u-1002",
            asset="ETH",
            fee=Decimal("0.000000000000000001"),
            volume=Decimal("2"),
            kind=EventKind.deposit,
            component='钱包, "热"\n提现',  # a line break in a field reads as \n
        ),
        Rejection(6, "kind: 'refund' is not one of deposit, trade, withdrawal"),
        make_event(
            7,
            account_id="u-1004",
            asset="USD",
            fee=Decimal("0.01"),
            volume=Decimal("7"),
            kind=EventKind.withdrawal,
            component="Fiat rails",
            at=datetime(2026, 11, 27, 14, 30, tzinfo=UTC),
        ),
        Rejection(8, "line: not valid UTF-8 (byte 12)"),
        make_event(9),
    ]


# -- JSON Lines ----------------------------------------------------------------------------


def _fee(number: bytes) -> bytes:
    return json_record(fee=None).replace(b"null", number)


async def test_jsonl_amounts_as_strings_or_exact_numbers() -> None:
    data = b"\n".join(
        [
            json_record(),
            b'{"account_id":"u-1001","asset":"BTC","fee":0.00012345,"volume":1.50,'
            b'"kind":"trade","component":"3","at":"2026-11-27T09:30:00Z","extra":[1.5]}',
            json_record(asset="ETH", fee=None).replace(b"null", b"0.000000000000000001"),
        ]
    )
    assert await _read(data, IntakeFormat.jsonl) == [
        make_event(1),
        make_event(2, volume=Decimal("1.50")),
        make_event(3, asset="ETH", fee=Decimal("0.000000000000000001")),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"[1, 2]", "line: not a JSON object"),
        (b'"u-1001"', "line: not a JSON object"),
        (b'{"account_id": }', "line: not valid JSON (Expecting value at column 16)"),
        (b"\xef\xbb\xbf" + json_record(), "line: not valid JSON (Expecting value at column 1)"),
        (_fee(b"NaN"), "line: not valid JSON (NaN is not a number)"),
        (_fee(b"1e-4"), "fee: '1e-4' is not a plain non-negative decimal number"),
        (_fee(b"-0.5"), "fee: '-0.5' is not a plain non-negative decimal number"),
        (_fee(b"0.000000001"), "fee: BTC has 8 decimal places; 0.000000001 has 9"),
        (json_record(fee=True), "fee: expected a string or a number, got bool"),
        (json_record(fee=None), "fee: missing"),
        (json_record(account_id=1001), "account_id: expected a string, got a number"),
        (json_record(component=["3"]), "component: expected a string, got list"),
        (
            json_record(at="2026-11-27T09:30"),
            "at: time zone missing (add Z or an offset such as +08:00)",
        ),
        (json_record(kind="refund"), "kind: 'refund' is not one of deposit, trade, withdrawal"),
        (
            json_record(at="0001-01-01T00:30+01"),
            "at: '0001-01-01T00:30+01' is not an ISO 8601 time",
        ),
        (b"[" * 50000, "line: not valid JSON (nested too deeply)"),
        (b'{"account_id":"u-1001","asset":"BTC"}', "fee: missing"),
        (b"{\"fee\": \"\xff\"}", "line: not valid UTF-8 (byte 10)"),
    ],
)  # fmt: skip
async def test_jsonl_rejections_name_the_line_and_the_field(line: bytes, reason: str) -> None:
    data = json_record() + b"\n\n" + line + b"\n" + json_record()
    assert await _read(data, IntakeFormat.jsonl) == [
        make_event(1),
        Rejection(3, reason),
        make_event(4),
    ]


async def test_jsonl_spaces_around_an_object_are_fine_but_not_a_second_value() -> None:
    data = b"  " + json_record() + b" \t\r\n" + json_record() + b" {}\n"
    assert await _read(data, IntakeFormat.jsonl) == [
        make_event(1),
        Rejection(2, "line: not valid JSON (Extra data at column 144)"),
    ]


async def test_jsonl_a_bom_at_the_start_of_the_file_is_tolerated() -> None:
    assert await _read(b"\xef\xbb\xbf" + json_record(), IntakeFormat.jsonl) == [make_event(1)]


async def test_jsonl_a_long_line_is_refused_and_reading_resumes() -> None:
    data = [json_record(), b"\n", json_record(component="z" * 300), b"\n", json_record()]
    assert await _read(data, IntakeFormat.jsonl, max_line_bytes=200) == [
        make_event(1),
        Rejection(2, "line: longer than 200 bytes"),
        make_event(3),
    ]


# -- the platform's HTTP API ----------------------------------------------------------------


async def test_batches_stay_small_however_big_the_chunk() -> None:
    data = HEADER + (GOOD_ROW + b"\n") * 10000
    sizes = [
        len(batch) async for batch in read_event_batches(_chunks(data), format=IntakeFormat.csv)
    ]
    assert sizes == [4095, 4096, 1809]


async def test_the_format_may_be_given_as_text() -> None:
    events = read_events(_chunks(json_record()), format="jsonl")  # type: ignore[arg-type]
    assert [event async for event in events] == [make_event(1)]
