"""Voucher codes: 85 random bits in Crockford base32, with a check character against typos."""

from __future__ import annotations

import base64
import secrets

from compensation.errors import InvalidInput
from incidents.common.errors import N_

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "InvalidCode",
    "check_symbol",
    "combine",
    "new_code",
    "new_codes",
    "normalize",
]

# Crockford's base32: no I, L, O (they read as 1 and 0) and no U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 17  # 85 bits from `secrets`
CODE_LENGTH = RANDOM_SYMBOLS + 1  # and the check symbol
GROUPS = ((0, 4), (4, 8), (8, 12), (12, 16), (16, 18))  # XXXX-XXXX-XXXX-XXXX-XX

# The check is Damm's scheme over the quasigroup x * y = 2x + y in GF(32) (modulus x^5 + x^2 + 1):
# it is totally anti-symmetric because 2 is neither 0 nor 1, so every single substitution and
# every swap of two adjacent symbols (the check symbol included) changes the result.
_MODULUS = 0b100101
_SYMBOL_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_TYPED_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", "- \t\r\n")
_RFC4648_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


class InvalidCode(InvalidInput):
    """What a person typed is not a voucher code."""

    def __init__(self, message: str, *, field: str | None = "code", **params: object) -> None:
        super().__init__(message, field=field, **params)


def _times_two(value: int) -> int:
    value <<= 1
    return value ^ _MODULUS if value & 0b100000 else value


_DOUBLED = tuple(_times_two(value) for value in range(32))


def combine(interim: int, symbol: int) -> int:
    """Damm's quasigroup operation: interim * symbol = 2 * interim + symbol in GF(32)."""
    return _DOUBLED[interim] ^ symbol


def _interim(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _DOUBLED[interim] ^ value
    return interim


def check_symbol(payload: str) -> str:
    """The symbol that brings the Damm interim of `payload` + it back to zero."""
    return ALPHABET[_DOUBLED[_interim([_SYMBOL_VALUE[symbol] for symbol in payload])]]


def _parity_masks() -> tuple[int, ...]:
    """The check symbol is GF(2)-linear in the 85 payload bits: its bit j is the parity of
    the payload under mask j. This lets new_codes check a code in five steps, not 17."""
    masks = [0] * 5
    for position in range(RANDOM_SYMBOLS * 5):
        contribution = 1 << (position % 5)
        for _ in range(position // 5 + 1):  # symbol k from the end is doubled k + 1 times
            contribution = _DOUBLED[contribution]
        for bit in range(5):
            if contribution >> bit & 1:
                masks[bit] |= 1 << position
    return tuple(masks)


_MASKS = _parity_masks()


def _format(symbols: str) -> str:
    return "-".join(symbols[start:end] for start, end in GROUPS)


def new_code() -> str:
    """A fresh code, formatted: e.g. "7KQ2-M9XD-4T1B-ZR8C-HW"."""
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """`count` fresh codes at once (200,000 in a fraction of a second). They are random, not
    checked against each other or the database: the caller's unique constraint does that."""
    randomness = secrets.token_bytes(11 * count)  # 88 bits a code, 85 used
    blocks = bytearray()
    m0, m1, m2, m3, m4 = _MASKS
    for start in range(0, 11 * count, 11):
        payload = int.from_bytes(randomness[start : start + 11]) >> 3
        check = (
            ((payload & m0).bit_count() & 1)
            | ((payload & m1).bit_count() & 1) << 1
            | ((payload & m2).bit_count() & 1) << 2
            | ((payload & m3).bit_count() & 1) << 3
            | ((payload & m4).bit_count() & 1) << 4
        )
        # 90 bits in 15 bytes: base32 gives 24 symbols, the first 6 of them always zero.
        blocks += (payload << 5 | check).to_bytes(15)
    text = base64.b32encode(blocks).translate(_RFC4648_TO_CROCKFORD).decode()
    return [
        f"{text[at : at + 4]}-{text[at + 4 : at + 8]}-{text[at + 8 : at + 12]}-"
        f"{text[at + 12 : at + 16]}-{text[at + 16 : at + 18]}"
        for at in range(6, 24 * count, 24)
    ]


def normalize(text: str) -> str:
    """What a person typed -> the canonical formatted code. Case, hyphens and spaces do not
    matter; O reads as 0 and I or L as 1. Raises InvalidCode saying what is wrong."""
    symbols = text.upper().translate(_IGNORED).translate(_TYPED_AS)
    for symbol in symbols[:64]:
        if symbol not in _SYMBOL_VALUE:
            raise InvalidCode(
                N_("%(symbol)r is not used in voucher codes (0-9 and A-Z without I, L, O, U)"),
                symbol=symbol,
            )
    if len(symbols) != CODE_LENGTH:
        raise InvalidCode(
            N_(
                "a voucher code has %(CODE_LENGTH)s characters, not counting hyphens; this has "
                "%(count)s"
            ),
            CODE_LENGTH=CODE_LENGTH,
            count=len(symbols),
        )
    if _interim([_SYMBOL_VALUE[symbol] for symbol in symbols]) != 0:
        raise InvalidCode(N_("the check character does not match: a character is mistyped"))
    return _format(symbols)
