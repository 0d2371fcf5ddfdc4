"""The staff console under /staff/: every area's routes, and its stylesheet and script."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from statuspage.console import (
    admin,
    channels,
    components,
    detection,
    finance,
    language,
    listing,
    maintenance,
    maintenance_series,
    second_factor,
    sign_in,
    sign_in_code,
    subscriber_csv,
    support,
)
from statuspage.services import Services
from statuspage.templating import STATIC

_ASSETS = {
    "console.css": ((STATIC / "console.css").read_bytes(), "text/css; charset=utf-8"),
    "console.js": ((STATIC / "console.js").read_bytes(), "text/javascript; charset=utf-8"),
}


async def asset(request: Request) -> Response:
    body, media_type = _ASSETS[request.url.path.rsplit("/", 1)[1]]
    return Response(body, media_type=media_type, headers={"cache-control": "max-age=300"})


def routes(services: Services) -> list[Route]:
    pages = [
        *sign_in.routes(),
        *second_factor.routes(),
        *support.routes(),
        *maintenance.routes(),
        *maintenance_series.routes(),
        *components.routes(),
        *subscriber_csv.routes(),
        *channels.routes(),
        *detection.routes(),
        *listing.routes(),
        *finance.routes(),
        *admin.routes(),
        *language.routes(),
    ]
    return [
        Route("/staff/console.css", asset),
        Route("/staff/console.js", asset),
        sign_in.login_route(services),
        sign_in_code.code_route(services),
        *(page.bind(services) for page in pages),
    ]
