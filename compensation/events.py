"""One fee event of the platform as the intake reads it, and the one validation every format's
line goes through (an event, or a Rejection naming the field that is wrong)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal
from hashlib import blake2b

from compensation.assets import SCALES, parse_amount
from compensation.errors import InvalidInput
from incidents.common.errors import N_

__all__ = [
    "MAX_COMPONENT_CHARS",
    "AccountEvent",
    "EventKind",
    "InvalidField",
    "Outcome",
    "Rejection",
    "identity",
    "validated_event",
]


class EventKind(enum.StrEnum):
    trade = "trade"
    withdrawal = "withdrawal"
    deposit = "deposit"


@dataclass(frozen=True, slots=True)
class AccountEvent:
    line: int
    account_id: str
    asset: str
    fee: Decimal
    volume: Decimal
    kind: EventKind
    component: str
    at: datetime
    event_id: str | None = None  # the platform's own id of the event, when it gives one


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


Outcome = AccountEvent | Rejection

MAX_COMPONENT_CHARS = 200
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
_EVENT_ID = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces
_KINDS = {kind.value: kind for kind in EventKind}
_KIND_NAMES = ", ".join(sorted(_KINDS))
# Per asset, the exact shape parse_amount accepts (at most 19 integer digits keeps it under
# MAX_AMOUNT): a match is valid as it stands, anything else goes to parse_amount for its message.
_AMOUNT_SHAPES = {
    asset: re.compile(rf"[0-9]{{1,19}}(?:\.[0-9]{{1,{scale}}})?" if scale else r"[0-9]{1,19}")
    for asset, scale in SCALES.items()
}


class InvalidField(Exception):
    """One field of one line is wrong: becomes a Rejection, never leaves the intake. Its
    message is a template, as a DomainError's is."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params


def _amount(text: str, asset: str, field: str) -> Decimal:
    text = text.strip()
    if _AMOUNT_SHAPES[asset].fullmatch(text):
        return Decimal(text)
    try:
        return parse_amount(text, asset, field=field)
    except InvalidInput as error:
        raise InvalidField(
            N_("%(field_name)s: %(problem)s"), field_name=field, problem=error
        ) from None


def _time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
        if at.tzinfo is None:
            raise InvalidField(N_("at: time zone missing (add Z or an offset such as +08:00)"))
        return at if at.tzinfo is UTC else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidField(N_("at: %(text)r is not an ISO 8601 time"), text=text[:40]) from None


def _event_id(text: str | None) -> str | None:
    if text is None or not (text := text.strip()):
        return None  # no id: the event is known by what it says
    if not _EVENT_ID.fullmatch(text):
        raise InvalidField(
            N_("event_id: %(text)r is not 1 to 128 printable ASCII characters without spaces"),
            text=text[:70],
        )
    return text


def validated_event(
    line: int,
    fields: tuple[str, str, str, str, str, str, str],
    event_id: str | None = None,
) -> Outcome:
    """The one validation of an event, whatever format it came in."""
    account_id, asset, fee, volume, kind, component, at = fields
    try:
        account_id = account_id.strip()
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise InvalidField(
                N_("account_id: %(account_id)r is not 1 to 64 of A-Z a-z 0-9 _ . : @ -"),
                account_id=account_id[:70],
            )
        asset = asset.strip().upper()
        if asset not in SCALES:
            raise InvalidField(
                N_("asset: %(asset)r is not one of %(value)s"),
                asset=asset[:20],
                value=", ".join(sorted(SCALES)),
            )
        event_kind = _KINDS.get(kind.strip().lower())
        if event_kind is None:
            raise InvalidField(
                N_("kind: %(value)r is not one of %(KIND_NAMES)s"),
                value=kind.strip()[:40],
                KIND_NAMES=_KIND_NAMES,
            )
        component = component.strip()
        if not component or len(component) > MAX_COMPONENT_CHARS:
            raise InvalidField(
                N_("component: must be 1 to %(MAX_COMPONENT_CHARS)s characters"),
                MAX_COMPONENT_CHARS=MAX_COMPONENT_CHARS,
            )
        return AccountEvent(
            line,
            account_id,
            asset,
            _amount(fee, asset, "fee"),
            _amount(volume, asset, "volume"),
            event_kind,
            component,
            _time(at),
            _event_id(event_id),
        )
    except InvalidField as error:
        return Rejection(line, str(error))


_EXACT = Context(prec=80)  # normalize() in the default context would round past 28 digits


def identity(event: AccountEvent, component_id: int) -> bytes:
    """What makes two lines one event, so the same event sent again is not summed again: the
    platform's event_id when it gives one, else every field as read (amounts without trailing
    zeros, the time in UTC, the component by id). Line endings, spaces, column order, the
    format and the spelling of a component or a time zone change nothing. 16 bytes of BLAKE2b."""
    if event.event_id is not None:
        text = f"id\x1f{event.event_id}"
    else:
        at = event.at if event.at.tzinfo is UTC else event.at.astimezone(UTC)
        text = (
            f"event\x1f{event.account_id}\x1f{event.asset}\x1f{event.fee.normalize(_EXACT)}"
            f"\x1f{event.volume.normalize(_EXACT)}\x1f{event.kind.value}\x1f{component_id}"
            f"\x1f{at.isoformat()}"
        )
    return blake2b(text.encode(), digest_size=16).digest()
