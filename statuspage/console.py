"""The staff console under /staff/: every area's routes, and its stylesheet and script."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from statuspage import (
    console_admin,
    console_auth,
    console_finance,
    console_maintenance,
    console_support,
)

_STATIC = Path(__file__).parent / "static"
_ASSETS = {
    "console.css": ((_STATIC / "console.css").read_bytes(), "text/css; charset=utf-8"),
    "console.js": ((_STATIC / "console.js").read_bytes(), "text/javascript; charset=utf-8"),
}


async def asset(request: Request) -> Response:
    body, media_type = _ASSETS[request.url.path.rsplit("/", 1)[1]]
    return Response(body, media_type=media_type, headers={"cache-control": "max-age=300"})


def routes() -> list[Route]:
    return [
        Route("/staff/console.css", asset),
        Route("/staff/console.js", asset),
        *console_auth.routes(),
        *console_support.routes(),
        *console_maintenance.routes(),
        *console_finance.routes(),
        *console_admin.routes(),
    ]
