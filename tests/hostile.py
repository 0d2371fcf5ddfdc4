"""A corpus of hostile text, and the checks that HTML built from it runs nothing of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# One-line texts the app takes as names (and bodies): each must come out as the same text,
# inert, wherever it ends up.
NAMES: list[str] = [
    # script and markup
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "</script><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">Withdraw</a>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)"></style></math>',
    "]]><script>alert(1)</script><![CDATA[",
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#60;b&#62;",
    "{{ 7*7 }} {% if 1 %}jinja{% endif %} ${7*7}",
    # Markdown links to elsewhere, and the chat platforms' own mention and link forms
    "[click](javascript:alert(1)) ![x](javascript:alert(1))",
    "[https://exchange.example/login](https://evil.example/login)",
    "<!channel> <!everyone> <!here> <@U024BE7LH> <#C024BE7LH>",
    "<https://evil.example|Log in to keep your funds> <@all>",
    "@everyone @here <@&123456789012345678>",
    # spreadsheet formulas
    '=HYPERLINK("https://evil.example","Refund")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    # Unicode that is allowed but must not break anything
    "Exch\u200bange\u200c with\u200d zero\ufeffwidth",
    "\u0415\u0445\u0441h\u0430ng\u0435 withdrawals",  # Cyrillic look-alikes of "Exchange"
    "Z\u0337\u0322a\u0334\u0317l\u0336\u0353g\u0335\u0359o\u0338 combining marks",
    "\U0001f469\u200d\U0001f4bb \U0001f1e8\U0001f1f3 emoji \uff1cscript\uff1e",
    "提" * 200,  # the longest name, in three-byte characters
]

# Multi-line bodies: line breaks are allowed there, so these try to escape a line-based format.
BODIES: list[str] = [
    "Fine.\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>",
    "Fine.\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Free BTC\nURL:https://evil.example",
    "Line one\n\n<img src=x onerror=alert(1)>\n\n```\n</pre><script>alert(1)</script>\n```",
    '[Claim refund](https://evil.example "title") and ![pixel](https://evil.example/p.png)',
    "Tab\tseparated\t=1+1\n-1\n@cmd",
    "x" * 20_000,  # the longest body
]

# Texts the app refuses with a 422 naming the field: each would corrupt or disguise output.
REFUSED_NAMES: list[str] = [
    "Deposits\x00delayed",
    "Deposits\r\nBcc: victim@example.com",
    "Deposits\ndelayed",
    "Deposits\x07\x1b[31mdelayed",
    "Deposits\x85delayed",  # NEL
    "Deposits \u202emoc.elpmaxe\u202c delayed",
    "Deposits \u2066isolated\u2069",
    "x" * 201,
]
REFUSED_BODIES: list[str] = ["Queued\x00.", "Queued\x1b[2J.", "Queued \u202e.", "x" * 20_001]

# Schemes a link must never carry into a page.
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster"}


@dataclass
class Activity:
    """Whatever in a page could run: scripts, event handlers, script-bearing URLs."""

    scripts: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def harmful(self) -> list[str]:
        return self.scripts + self.handlers + self.urls


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Activity()
        self._in_script = False
        self._raw_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in {"script", "iframe", "object", "embed", "base", "meta"} and not _ours(
            tag, values
        ):
            self.found.scripts.append(f"<{tag} {values}>")
        self._in_script = tag == "script"
        # Inside MathML or SVG a browser parses <style> content as markup (mutation XSS):
        # read it as markup too.
        self._raw_text = tag == "style"
        for name, value in attrs:
            if name.startswith("on"):
                self.found.handlers.append(f"<{tag} {name}={value!r}>")
            cleaned = "".join((value or "").split()).lower()
            if name in _URL_ATTRIBUTES and cleaned.startswith(_BAD_SCHEMES):
                self.found.urls.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._raw_text = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.scripts.append(f"<script>{data[:80]}")
        if self._raw_text:
            inner = scan(data)
            self.found.scripts += inner.scripts
            self.found.handlers += inner.handlers
            self.found.urls += inner.urls
        self.found.text.append(data)


def _ours(tag: str, values: dict[str, str | None]) -> bool:
    """The app's own elements: scripts from its own files, its meta tags."""
    if tag == "script":
        return (values.get("src") or "").startswith("/")
    return tag == "meta" and "http-equiv" not in values


def scan(html: str) -> Activity:
    """Parses `html` as a browser would tokenize it and lists what could run."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


def visible_text(html: str) -> str:
    return "".join(scan(html).text)
