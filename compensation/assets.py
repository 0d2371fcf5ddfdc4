"""Assets and their precision: every amount a Decimal, rounded once, down, to its asset's scale."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from compensation.errors import InvalidInput

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

_PLAIN_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,18})?")


def scale_of(asset: str, *, field: str = "asset") -> int:
    scale = SCALES.get(asset)
    if scale is None:
        known = ", ".join(sorted(SCALES))
        raise InvalidInput(f"asset {asset!r} is not one of {known}", field=field)
    return scale


def unit(asset: str) -> Decimal:
    """The smallest amount of an asset: 0.00000001 BTC, 0.01 USD."""
    return Decimal(1).scaleb(-scale_of(asset))


def round_to_asset(amount: Decimal, asset: str) -> Decimal:
    """The one place amounts are rounded: down to the asset's scale."""
    return amount.quantize(unit(asset), rounding=ROUNDING)


def parse_amount(text: str, asset: str, *, field: str) -> Decimal:
    """An exact, non-negative amount written as plain digits, with no more decimals than the
    asset has: `0.00012345` BTC, never `1e-4`, `-1`, `NaN` or a ninth BTC decimal."""
    scale = scale_of(asset)
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput(f"{text[:40]!r} is not a plain non-negative decimal number", field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only digits
        raise InvalidInput(f"{text[:40]!r} is not a number", field=field) from error
    decimals = -amount.as_tuple().exponent  # type: ignore[operator]
    if decimals > scale:
        raise InvalidInput(
            f"{asset} has {scale} decimal places; {text} has {decimals}", field=field
        )
    if amount >= MAX_AMOUNT:
        raise InvalidInput(f"{text} is too large", field=field)
    return amount


def check_amount(amount: Decimal, asset: str, *, field: str) -> Decimal:
    """The same rule for amounts that arrive as Decimals (from validated JSON)."""
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{amount} must be a finite amount of zero or more", field=field)
    return parse_amount(format(amount, "f"), asset, field=field)
