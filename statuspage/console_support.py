"""Console pages for support: the dashboard (being built)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from statuspage.console_kit import ANYONE, Console, route


def routes() -> list[Route]:
    return [route("/", dashboard, ANYONE)]


async def dashboard(console: Console) -> Response:
    return console.render("dashboard.html")
