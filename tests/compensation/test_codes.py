"""Voucher codes: random, typeable, and a single typo or an adjacent swap never slips through."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compensation.codes import (
    ALPHABET,
    InvalidCode,
    check_symbol,
    combine,
    new_code,
    new_codes,
    normalize,
)
from compensation.errors import InvalidInput

FORMATTED = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]{2}")
MISTYPED = "^the check character does not match: a character is mistyped$"
LENGTH = "a voucher code has 18 characters, not counting hyphens; this has "
LETTERS = " in voucher codes (0-9 and A-Z without I, L, O, U)"
payloads = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def _code(payload: str) -> str:
    symbols = payload + check_symbol(payload)
    return "-".join([symbols[0:4], symbols[4:8], symbols[8:12], symbols[12:16], symbols[16:]])


def test_the_check_operation_is_a_totally_anti_symmetric_quasigroup() -> None:
    """Damm's conditions, checked for all 32 x 32 x 32 cases: each row and column of the table
    is a permutation (a single substitution always shows), and (c*x)*y == (c*y)*x only when
    x == y (an adjacent swap always shows, whatever came before)."""
    values = range(32)
    for x in values:
        assert sorted(combine(x, y) for y in values) == list(values)
        assert sorted(combine(y, x) for y in values) == list(values)
    for c in values:
        for x in values:
            for y in values:
                if x != y:
                    assert combine(combine(c, x), y) != combine(combine(c, y), x)


def test_a_known_code() -> None:
    assert check_symbol("00000000000000001") == "2"
    assert normalize("0000-0000-0000-0000-12") == "0000-0000-0000-0000-12"
    with pytest.raises(InvalidCode, match=MISTYPED):
        normalize("0000-0000-0000-0000-13")


@given(payloads)
def test_every_single_mistyped_character_is_caught(payload: str) -> None:
    code = _code(payload).replace("-", "")
    assert normalize(code) == _code(payload)
    for position in range(18):
        for symbol in ALPHABET.replace(code[position], ""):
            typo = code[:position] + symbol + code[position + 1 :]
            with pytest.raises(InvalidCode, match=MISTYPED):
                normalize(typo)


@given(payloads)
def test_every_swap_of_two_adjacent_characters_is_caught(payload: str) -> None:
    code = _code(payload).replace("-", "")
    for position in range(17):
        if code[position] != code[position + 1]:
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            with pytest.raises(InvalidCode, match=MISTYPED):
                normalize(swapped)


def test_new_codes_are_formatted_valid_and_distinct() -> None:
    codes = new_codes(5000)
    assert len(codes) == 5000
    assert len(set(codes)) == 5000
    for code in codes:
        assert FORMATTED.fullmatch(code), code
        assert normalize(code) == code
        assert code[-1] == check_symbol(code.replace("-", "")[:17])


def test_every_random_position_uses_the_whole_alphabet() -> None:
    """85 random bits: each of the 17 random symbols takes all 32 values (a stuck or biased
    position would show here; 5,000 codes miss a symbol with probability ~ 1e-66)."""
    codes = [code.replace("-", "") for code in new_codes(5000)]
    for position in range(17):
        counts = Counter(code[position] for code in codes)
        assert sorted(counts) == sorted(ALPHABET)
        assert max(counts.values()) < 5000 / 32 * 1.6


def test_new_code_is_one_fresh_code() -> None:
    first, second = new_code(), new_code()
    assert FORMATTED.fullmatch(first)
    assert normalize(first) == first
    assert first != second


def test_zero_codes() -> None:
    assert new_codes(0) == []


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("0000-0000-0000-0000-12", "0000-0000-0000-0000-12"),
        ("0000 0000 0000 0000 12", "0000-0000-0000-0000-12"),
        ("  000000000000000012\n", "0000-0000-0000-0000-12"),
        ("oOoO-oooo-OOOO-0000-i2", "0000-0000-0000-0000-12"),
        ("0000-0000-0000-0000-L2", "0000-0000-0000-0000-12"),
        ("0000-0000-0000-0000-l2", "0000-0000-0000-0000-12"),
        ("00-00-00-00-00-00-00-00-12", "0000-0000-0000-0000-12"),
    ],
)
def test_what_a_person_types_is_read_kindly(typed: str, code: str) -> None:
    assert normalize(typed) == code


@given(payloads)
def test_lower_case_and_look_alikes_read_as_the_code(payload: str) -> None:
    code = _code(payload)
    typed = code.lower().replace("0", "o").replace("1", "l").replace("-", " ")
    assert normalize(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", LENGTH + "0"),
        ("0000-0000-0000-0000-1", LENGTH + "17"),
        ("0000-0000-0000-0000-122", LENGTH + "19"),
        ("0000-U000-0000-0000-12", "'U' is not used" + LETTERS),
        ("0000-0000-0000-0000-1*", "'*' is not used" + LETTERS),
        ("优惠券-0000-0000-0000-12", "'优' is not used" + LETTERS),
        ("0000-0000-0000-0000-22", "the check character does not match: a character is mistyped"),
    ],
)  # fmt: skip
def test_what_is_not_a_code_is_refused_with_the_reason(typed: str, message: str) -> None:
    with pytest.raises(InvalidCode, match=f"^{re.escape(message)}$") as caught:
        normalize(typed)
    assert caught.value.field == "code"
    assert isinstance(caught.value, InvalidInput)
    assert (caught.value.status_code, caught.value.code) == (422, "invalid_input")
