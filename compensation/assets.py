"""Assets and their precision: every amount a Decimal, rounded once, down, to its asset's scale."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

from compensation.errors import InvalidInput
from incidents.common.errors import N_, Invalid

# Decimal places each asset is counted in. Fiat in cents; tokens as their chains count them.
SCALES: dict[str, int] = {
    "BTC": 8,
    "ETH": 18,
    "USDT": 6,
    "USDC": 6,
    "USD": 2,
    "EUR": 2,
    "CNY": 2,
    "HKD": 2,
    "SGD": 2,
}

# The one rounding rule: towards zero, so rounding never creates money.
ROUNDING = ROUND_DOWN

# Large enough for any sum we handle (PostgreSQL stores Numeric(38, 18)).
MAX_AMOUNT = Decimal("1e19")

# The one shape of an amount written as text: ASCII digits, optionally a point and more digits.
# No exponent, underscore, sign of plus, digits of another script, space inside, NaN or Infinity,
# all of which Decimal() would read.
_DIGITS = r"[0-9]{1,20}(?:\.[0-9]{1,18})?"
_PLAIN_DECIMAL = re.compile(_DIGITS)
_SIGNED_DECIMAL = re.compile("-?" + _DIGITS)
_AROUND = " \t\r\n"  # ASCII whitespace around a JSON string is forgiven; inside, never


def scale_of(asset: str, *, field: str = "asset") -> int:
    scale = SCALES.get(asset)
    if scale is None:
        known = ", ".join(sorted(SCALES))
        raise InvalidInput(
            N_("asset %(asset)r is not one of %(known)s"), field=field, asset=asset, known=known
        )
    return scale


def unit(asset: str) -> Decimal:
    """The smallest amount of an asset: 0.00000001 BTC, 0.01 USD."""
    return Decimal(1).scaleb(-scale_of(asset))


def round_to_asset(amount: Decimal, asset: str) -> Decimal:
    """The one place amounts are rounded: down to the asset's scale."""
    return amount.quantize(unit(asset), rounding=ROUNDING)


def plain_decimal(text: str, *, signed: bool = False) -> Decimal | None:
    """The one parser of amounts written as text (events, JSON bodies): the Decimal of a plain
    decimal (with a leading minus when `signed`), or None for anything else."""
    shape = _SIGNED_DECIMAL if signed else _PLAIN_DECIMAL
    return Decimal(text) if shape.fullmatch(text) else None


def decimal_from_json(value: object) -> Decimal:
    """An amount from a JSON body: a whole JSON number or a string of plain digits. Refused
    with ValueError (its message what a 422 says): floats, which arrive inexact, booleans, and
    strings in any other form. A minus passes, for the range checks to refuse by name."""
    if isinstance(value, Decimal) and value.is_finite():  # from Python, already exact
        return value
    if type(value) is int:
        return Decimal(value)
    if isinstance(value, float):
        raise Invalid(N_('write amounts with decimals as strings, e.g. "0.1"'))
    if not isinstance(value, str):
        raise Invalid(
            N_("expected an amount as a string of digits, got %(kind)s"),
            kind=type(value).__name__,
        )
    amount = plain_decimal(value.strip(_AROUND), signed=True)
    if amount is None:
        raise Invalid(
            N_(
                "%(value)r is not a plain decimal number: write ASCII digits with an optional "
                'point, e.g. "1000" or "0.0001" (no exponent, underscores or spaces)'
            ),
            value=value[:40],
        )
    return amount


def parse_amount(text: str, asset: str, *, field: str) -> Decimal:
    """An exact, non-negative amount written as plain digits, with no more decimals than the
    asset has: `0.00012345` BTC, never `1e-4`, `-1`, `NaN` or a ninth BTC decimal."""
    scale = scale_of(asset)
    amount = plain_decimal(text)
    if amount is None:
        raise InvalidInput(
            N_("%(text)r is not a plain non-negative decimal number"), field=field, text=text[:40]
        )
    decimals = -amount.as_tuple().exponent  # type: ignore[operator]
    if decimals > scale:
        raise InvalidInput(
            N_("%(asset)s has %(scale)s decimal places; %(text)s has %(decimals)s"),
            field=field,
            asset=asset,
            scale=scale,
            text=text,
            decimals=decimals,
        )
    if amount >= MAX_AMOUNT:
        raise InvalidInput(N_("%(text)s is too large"), field=field, text=text)
    return amount


def check_amount(amount: Decimal, asset: str, *, field: str) -> Decimal:
    """The same rule for amounts that arrive as Decimals (from validated JSON)."""
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(
            N_("%(amount)s must be a finite amount of zero or more"), field=field, amount=amount
        )
    return parse_amount(format(amount, "f"), asset, field=field)
