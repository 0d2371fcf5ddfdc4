"""A confirmation before a one-way action (resolve, issue, void, cancel), without JavaScript:
the action's POST without `confirmed=yes` answers a page that says what will happen and posts
the same fields again with it. What the page asks is in `confirm.html`, by the action's name."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from statuspage.console.kit import Console

CONFIRMED = "confirmed"


def is_confirmed(console: Console) -> bool:
    return console.field(CONFIRMED) == "yes"


def ask(console: Console, what: str, *, back: str, **facts: Any) -> Response:
    """The confirmation page for `what` (a name `confirm.html` knows): the posted fields,
    but the token and the confirmation, carried over as they were sent; `facts` are what the
    page shows of the thing the action is about; `back` is where "No" leads."""
    carried = [
        (name, value)
        for name, value in console.form.multi_items()
        if isinstance(value, str) and name not in ("csrf", CONFIRMED)
    ]
    return console.render(
        "confirm.html",
        what=what,
        action=console.request.url.path,
        carried=carried,
        back=back,
        facts=facts,
    )
