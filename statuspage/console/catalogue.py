"""What the console says, read from its sources (templates and Python, as Babel extracts them),
set against its catalogues: the messages still to translate and the translations no source uses.
`python -m statuspage.console.catalogue [AREA]` lists them and, with AREA, appends the missing
messages to `templates/i18n/console/<language>/AREA.po` to be translated there."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

from incidents.models import LANGUAGES
from statuspage import i18n
from statuspage.console.words import CONSOLE_CATALOGUES, SOURCE_LANGUAGE
from statuspage.templating import TEMPLATES

_PYTHON = Path(__file__).resolve().parent
_DOMAINS = [
    _PYTHON.parents[1] / "incidents",
    _PYTHON.parents[1] / "compensation",
    _PYTHON.parent / "access",  # staff accounts refuse with templates too
]
_KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "say": None,
    "say_n": (1, 2),
}
Message = str | tuple[str, ...] | list[str]  # a msgid, or (singular, plural)


@dataclass(frozen=True)
class Said:
    message: Message
    where: str


def said() -> Iterator[Said]:
    """Every message the console's templates and Python code mark for translation."""
    yield from _extracted()


@functools.cache
def _extracted() -> tuple[Said, ...]:
    """Read once a process: Babel's extraction of the whole tree takes ~2 s of CPU, and both
    `missing` and `unused` (twice in `main`) ask for it."""
    return tuple(_extract())


def _extract() -> Iterator[Said]:
    sources = [
        (path, "jinja2.ext:babel_extract") for path in (TEMPLATES / "console").glob("*.html")
    ]
    sources += [(path, "python") for path in _PYTHON.glob("*.py")]
    # what the domains refuse (DomainError and validators' templates), marked N_
    sources += [(path, "python") for domain in _DOMAINS for path in domain.rglob("*.py")]
    for path, method in sorted(sources):
        with path.open("rb") as source:
            for line, message, _comments, _context in extract(
                method, source, keywords=_KEYWORDS, options={"trimmed": "false"}
            ):
                yield Said(message, f"{_where(path)}:{line}")


def _where(path: Path) -> str:
    return path.name if path.parent == _PYTHON else str(path.relative_to(_PYTHON.parents[1]))


def catalogues(language: str) -> dict[Path, Catalog]:
    found = {}
    for path in sorted((CONSOLE_CATALOGUES / language).glob("*.po")):
        with path.open("rb") as source:
            found[path] = read_po(source, locale=i18n.babel_locale(language))
    return found


def _key(message: Message) -> str:
    return message if isinstance(message, str) else message[0]


def missing(language: str) -> list[Said]:
    """Messages said somewhere with no translation (or an empty, or a fuzzy one)."""
    translated: set[str] = set()
    for catalog in catalogues(language).values():
        for entry in catalog:
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if entry.id and not entry.fuzzy and all(strings):
                translated.add(_key(entry.id))
    seen: set[str] = set()
    found = []
    for item in said():
        key = _key(item.message)
        if key not in translated and key not in seen:
            seen.add(key)
            found.append(item)
    return found


def unused(language: str) -> list[str]:
    used = {_key(item.message) for item in said()}
    return [
        f"{path.name}: {_key(entry.id)}"
        for path, catalog in catalogues(language).items()
        for entry in catalog
        if entry.id and _key(entry.id) not in used
    ]


def _append(language: str, area: str, messages: list[Said]) -> Path:
    path = CONSOLE_CATALOGUES / language / f"{area}.po"
    catalog = catalogues(language).get(path) or Catalog(
        locale=i18n.babel_locale(language),
        project="statuspage console",
        header_comment=f"# The staff console's words in {language}; the msgids are the English.",
    )
    for item in messages:
        catalog.add(item.message, "" if isinstance(item.message, str) else ("",), [(item.where, 0)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=0, omit_header=False, include_lineno=False)
    return path


def main(argv: list[str]) -> int:
    problems = 0
    for language in (code for code in LANGUAGES if code != SOURCE_LANGUAGE):
        gaps = missing(language)
        for item in gaps:
            print(f"{language}: untranslated {_key(item.message)!r} ({item.where})")
        for line in unused(language):
            print(f"{language}: unused {line}")
        if argv and gaps:
            print(f"appended {len(gaps)} to {_append(language, argv[0], gaps)}")
        problems += len(gaps) + len(unused(language))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
