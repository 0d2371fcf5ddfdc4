"""The console's words in the staffer's language: Babel catalogues (`templates/i18n/console/
<language>/*.po`, English msgids, one file per area), the Jinja environment of each language,
and which language a request is answered in."""

from __future__ import annotations

from functools import cache
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment
from starlette.requests import Request

from incidents.models import LANGUAGES
from statuspage import i18n
from statuspage.templating import CATALOGUES, environment

__all__ = [
    "CONSOLE_CATALOGUES",
    "environment_for",
    "gettext",
    "language_of",
    "ngettext",
    "translations",
]

CONSOLE_CATALOGUES = CATALOGUES / "console"
SOURCE_LANGUAGE = "en"  # the msgids are the English text itself
LANG_COOKIE = "lang"  # the public page's cookie: the same choice before anyone signs in


@cache
def translations(language: str) -> NullTranslations:
    """Every area's catalogue of `language`, merged; English is the msgids themselves."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    merged: Translations | None = None
    for path in sorted((CONSOLE_CATALOGUES / language).glob("*.po")):
        with path.open("rb") as source:
            catalog = read_po(source, locale=i18n.babel_locale(language), domain="console")
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        area = Translations(compiled, domain="console")
        if merged is None:
            merged = area
        else:
            merged.merge(area)
    if merged is None:
        raise FileNotFoundError(f"no console catalogue for {language} in {CONSOLE_CATALOGUES}")
    return merged


@cache
def environment_for(language: str) -> Environment:
    """The console's templates with `_()`, `gettext()` and `{% trans %}` in `language`."""
    env = environment("console")
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    # Stored values in words (`words.component_status(value)`), in every template
    env.globals["words"] = env.get_template("_words.html").module
    return env


def gettext(language: str, message: str, **params: object) -> str:
    """A message of the console's Python code (marked `_` for extraction) in `language`."""
    text = translations(language).gettext(message)
    return text % params if params else text


def ngettext(language: str, singular: str, plural: str, num: int) -> str:
    return translations(language).ngettext(singular, plural, num) % {"num": num}


def language_of(request: Request, chosen: str | None, default: str) -> str:
    """The account's own choice; before that (or before signing in) `?lang=`, the language
    cookie, then the browser's Accept-Language, then the site's default."""
    if chosen in LANGUAGES:
        return chosen
    return i18n.negotiate(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=default,
    )
