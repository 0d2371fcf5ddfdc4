"""The baseline: a bare Starlette hello-world, served by the same server as the app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def hello(_request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


app = Starlette(routes=[Route("/", hello)])
