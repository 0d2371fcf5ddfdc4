"""What text of ours may contain: the characters refused in names, bodies and addresses."""

from __future__ import annotations

import re

# Characters no text of ours needs and that do harm where text ends up: C0/C1 controls and DEL
# (NUL cannot be stored in PostgreSQL; CR/LF would break a mail header or a feed line), lone
# surrogates (no encoding can write them), bidi overrides and isolates (U+202E turns
# "moc.example" into what looks like "elpmaxe.com"), and the noncharacters XML refuses.
_UNSAFE = "\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufffe\uffff"
_NOT_ONE_LINE = re.compile(f"[\x00-\x1f{_UNSAFE}]")
_NOT_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE}]")  # keeps line feeds and tabs


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of `value` that text must not contain, or None."""
    found = (_NOT_TEXT if multiline else _NOT_ONE_LINE).search(value)
    return found.group() if found else None


def check_one_line(value: str) -> str:
    if (found := unsafe_character(value)) is not None:
        raise ValueError(f"must be one line without control characters (U+{ord(found):04X})")
    return value


def check_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if (found := unsafe_character(value, multiline=True)) is not None:
        raise ValueError(f"must not contain control characters (U+{ord(found):04X})")
    return value
