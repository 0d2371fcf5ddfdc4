"""What the domains and their schemas refuse, said in the staffer's language: a DomainError's
(or a validator's) English template through the console's catalogue with its parameters, and
pydantic's error types as sentences that name the field in words. The staff API keeps the
English `message`; only the console reads the template."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Protocol, cast

from babel.messages.pofile import read_po
from pydantic import ValidationError

from incidents.common.errors import N_
from statuspage.console.words import CONSOLE_CATALOGUES, SOURCE_LANGUAGE, translations

__all__ = ["domain_message", "stored_reason", "validation_messages"]

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


class _Templated(Protocol):
    template: str
    params: dict[str, object]


# A form field in words, by the last name of its location (`translations.zh-CN.body` → body).
_FIELDS = {
    "account_id": N_("Account"),
    "account_ids": N_("Account"),
    "address": N_("Address"),
    "amount": N_("Amount"),
    "asset": N_("Asset"),
    "assets": N_("Assets"),
    "at_least": N_("Tier threshold"),
    "body": N_("Message"),
    "bot_token": N_("Bot token"),
    "budget": N_("Budget"),
    "cause": N_("Cause"),
    "channel": N_("Channel"),
    "chat_id": N_("Chat ID"),
    "code": N_("Code"),
    "component_id": N_("Component"),
    "component_ids": N_("Affected components"),
    "components": N_("Components"),
    "description": N_("Description"),
    "direction": N_("Direction"),
    "display_at": N_("Shown as posted at"),
    "email": N_("Email"),
    "event_kinds": N_("Event kinds"),
    "expected_resolution_at": N_("Expected resolution"),
    "grace_after_minutes": N_("Grace after (minutes)"),
    "grace_before_minutes": N_("Grace before (minutes)"),
    "group_id": N_("Group"),
    "impact": N_("Impact"),
    "kind": N_("Kind"),
    "language": N_("Language"),
    "minimum_payout": N_("Minimum payout"),
    "name": N_("Name"),
    "network": N_("Network"),
    "percent": N_("Percent"),
    "per_account_cap": N_("Cap per account"),
    "policy_id": N_("Policy"),
    "position": N_("Position"),
    "reason": N_("Reason"),
    "run_at": N_("Goes out at"),
    "scheduled_for": N_("Starts"),
    "scheduled_until": N_("Ends"),
    "status": N_("Status"),
    "url": N_("URL"),
    "validity_days": N_("Valid for (days)"),
}

# Pydantic's error types a console form can meet, as sentences; `%(field)s` is the field in
# words, the other names come from the error's context.
_TYPES = {
    "missing": N_("%(field)s is required"),
    "string_too_short": N_("%(field)s needs at least %(min_length)s characters"),
    "string_too_long": N_("%(field)s takes at most %(max_length)s characters"),
    "string_type": N_("%(field)s must be text"),
    "string_pattern_mismatch": N_("%(field)s is not written in the expected form"),
    "too_short": N_("%(field)s needs at least %(min_length)s entries"),
    "too_long": N_("%(field)s takes at most %(max_length)s entries"),
    "greater_than": N_("%(field)s must be greater than %(gt)s"),
    "greater_than_equal": N_("%(field)s must be at least %(ge)s"),
    "less_than": N_("%(field)s must be less than %(lt)s"),
    "less_than_equal": N_("%(field)s must be at most %(le)s"),
    "int_parsing": N_("%(field)s must be a whole number"),
    "int_type": N_("%(field)s must be a whole number"),
    "int_from_float": N_("%(field)s must be a whole number"),
    "bool_parsing": N_("%(field)s must be yes or no"),
    "enum": N_("%(field)s must be one of %(expected)s"),
    "literal_error": N_("%(field)s must be one of %(expected)s"),
    "datetime_parsing": N_("%(field)s must be a date and time"),
    "datetime_type": N_("%(field)s must be a date and time"),
    "datetime_from_date_parsing": N_("%(field)s must be a date and time"),
    "timezone_aware": N_("%(field)s needs a time zone"),
    "decimal_parsing": N_("%(field)s must be a number"),
    "decimal_type": N_("%(field)s must be a number"),
    "decimal_max_digits": N_("%(field)s has more than %(max_digits)s digits"),
    "decimal_max_places": N_("%(field)s has more than %(decimal_places)s decimal places"),
    "decimal_whole_digits": N_("%(field)s has more than %(whole_digits)s digits before the point"),
    "decimal_finite_number": N_("%(field)s must be a finite number"),
    "url_parsing": N_("%(field)s must be a web address"),
    "url_scheme": N_("%(field)s must be a web address"),
    "extra_forbidden": N_("%(field)s does not belong in this form"),
    "dict_type": N_("%(field)s has the wrong shape"),
    "list_type": N_("%(field)s has the wrong shape"),
    "model_type": N_("%(field)s has the wrong shape"),
}


def _say(language: str, template: str, params: dict[str, Any]) -> str:
    text = translations(language).gettext(template)
    return text % params if params else text


def _param(language: str, value: object) -> object:
    """A parameter as said: a nested refusal in words, a marked word (an enum's value such as
    `resolved`, `a string`) through the catalogue, anything else as it is."""
    if hasattr(value, "template") and hasattr(value, "params"):
        return templated(language, cast(_Templated, value))
    if isinstance(value, str) and value:
        return translations(language).gettext(value)
    return value


def templated(language: str, error: _Templated) -> str:
    params = {name: _param(language, value) for name, value in error.params.items()}
    return _say(language, error.template, params)


def domain_message(language: str, error: _Templated) -> str:
    """A DomainError's message in `language` (its English `message` with no catalogue)."""
    return templated(language, error)


def field_words(language: str, loc: tuple[int | str, ...]) -> str:
    names = [part for part in loc if isinstance(part, str)]
    for name in reversed(names):
        if name in _FIELDS:
            return translations(language).gettext(_FIELDS[name])
    return names[-1] if names else translations(language).gettext(N_("This form"))


def validation_messages(language: str, error: ValidationError) -> dict[str, str]:
    """Each field's first error in words, by the field's dotted name."""
    found: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        found.setdefault(name, _item(language, item))
    return found


def _item(language: str, item: Any) -> str:
    kind, context = item["type"], dict(item.get("ctx") or {})
    cause = context.get("error")
    if kind == "value_error" and hasattr(cause, "template"):
        return templated(language, cast(_Templated, cause))
    if kind == "string_too_short" and context.get("min_length") == 1:
        kind = "missing"
    template = _TYPES.get(kind)
    if template is None:
        return str(item["msg"]).removeprefix("Value error, ")
    return _say(language, template, {**context, "field": field_words(language, item["loc"])})


# -- a reason stored in English (an intake's refused line) read back ---------------------------


@cache
def _templates() -> list[tuple[str, re.Pattern[str]]]:
    """The domains' templates (the errors area) as patterns, the most specific first."""
    with (CONSOLE_CATALOGUES / "zh-CN" / "errors.po").open("rb") as source:
        ids = [entry.id for entry in read_po(source) if isinstance(entry.id, str) and entry.id]
    found = []
    for template in ids:
        parts = _PLACEHOLDER.split(template)
        if len(parts) == 1:
            continue
        pattern = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
            for index, part in enumerate(parts)
        )
        found.append((template, re.compile(pattern, re.S)))
    return sorted(found, key=lambda item: -len(_PLACEHOLDER.sub("", item[0])))


def stored_reason(language: str, text: str, depth: int = 0) -> str:
    """A reason the domain stored in English (its template filled in), in `language`: the
    template it was written from is found again, and said with the same values."""
    if language == SOURCE_LANGUAGE or not text:
        return text
    words = translations(language)
    exact = words.gettext(text)
    if exact != text or depth > 2:
        return exact
    for template, pattern in _templates():
        found = pattern.fullmatch(text)
        if found:
            values = {
                name: stored_reason(language, value, depth + 1)
                for name, value in found.groupdict().items()
            }
            return _PLACEHOLDER.sub(r"%(\1)s", words.gettext(template)) % values
    return text
