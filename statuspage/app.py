"""The ASGI application: `create_app(settings)` wires routes, errors and the database."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

from incidents.common.errors import DomainError
from statuspage import security_headers
from statuspage.api import routing
from statuspage.config import Settings
from statuspage.db import BUSY_RETRY_SECONDS, Database, connect, lock_wait_exceeded
from statuspage.group_commit import GroupCommit
from statuspage.keys import Keys
from statuspage.public import openapi as public_openapi
from statuspage.public import routes as public_routes
from statuspage.public import subscribe
from statuspage.public.cache import CacheFront, PublicCache
from statuspage.public.responses import api_error
from statuspage.services import Services
from statuspage.site import Site
from statuspage.wake import Bell, Doorbell
from statuspage.workers.loop import doorbell_for
from statuspage.workers.scheduler import Scheduler

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from starlette.datastructures import URLPath

    from statuspage.api.routing import Endpoint
    from statuspage.export.run import ContinuousExport
    from statuspage.workers.credit import CreditWorker
    from statuspage.workers.delivery import DeliveryWorker


@dataclass
class Running:
    """What an app runs beside its routes, started and stopped by its lifespan."""

    services: Services
    cache: PublicCache
    exporter: ContinuousExport | None
    worker: DeliveryWorker | None
    credit_worker: CreditWorker | None
    scheduler: Scheduler | None
    doorbell: Doorbell | None  # wakes this process's workers, when it runs any
    owns_database: bool


class StatusApp(Starlette):
    """The Starlette app and what it runs (tests reach the cache, the exporter and the
    database here; routes are given their services when they are built)."""

    def __init__(self, running: Running, **options: Any) -> None:
        super().__init__(**options)
        self.running = running


def create_app(settings: Settings, *, database: Database | None = None) -> StatusApp:
    db = (
        database if database is not None else connect(settings.database_url, echo=settings.sql_echo)
    )
    running = _running(settings, db, owns_database=database is None)
    https = security_headers.is_https(settings.public_url)
    return StatusApp(
        running,
        routes=_routes(running.services, running.cache),
        # Cache hits are answered by CacheFront with headers prepared at render time; every
        # other response gets the security headers from the light layer behind it.
        middleware=[
            Middleware(CacheFront, cache=running.cache, default_language=settings.default_language),
            Middleware(security_headers.SecurityHeaders, https=https),
        ],
        exception_handlers={
            HTTPException: http_error_handler(running.cache),
            DomainError: domain_error,
            DBAPIError: database_error,
            500: security_headers.server_error_handler(https),
        },
        lifespan=_lifespan(running),
    )


def _running(settings: Settings, db: Database, *, owns_database: bool) -> Running:
    cache = PublicCache(db, Site.from_settings(settings), poll_interval=settings.cache_poll_seconds)
    bell = Bell(db)
    worker = _delivery_worker(db, settings) if settings.run_worker else None
    credit = (
        _credit_worker(db, settings) if settings.run_worker and settings.credit_api_url else None
    )
    loops = [loop for loop in (worker, credit) if loop is not None]

    async def changed() -> None:  # the scheduler published or sent something
        cache.refresh_soon()
        await bell.ring()

    scheduler = Scheduler(db, settings, on_change=changed) if settings.run_scheduler else None

    async def after_write() -> None:
        await bell.ring()
        if scheduler is not None:
            scheduler.poke()
        await cache.refresh()  # the pages being read show the change when the write answers

    return Running(
        services=Services(
            settings, db, Keys(db, settings), bell, after_write, GroupCommit(db, after_write)
        ),
        cache=cache,
        exporter=_exporter(cache, settings) if settings.export_dir else None,
        worker=worker,
        credit_worker=credit,
        scheduler=scheduler,
        doorbell=doorbell_for(db, settings, loops) if loops else None,
        owns_database=owns_database,
    )


# What only some configurations run is imported when it is: `serve`'s web processes deliver
# nothing (the child does), and most sites neither credit vouchers nor export.


def _delivery_worker(db: Database, settings: Settings) -> DeliveryWorker:
    from statuspage.workers.delivery import DeliveryWorker

    return DeliveryWorker(db, settings)


def _credit_worker(db: Database, settings: Settings) -> CreditWorker:
    from statuspage.workers.credit import CreditWorker

    return CreditWorker(db, settings)


def _exporter(cache: PublicCache, settings: Settings) -> ContinuousExport:
    from statuspage.export.run import ContinuousExport

    return ContinuousExport(cache, Path(settings.export_dir))


def _routes(services: Services, cache: PublicCache) -> list[BaseRoute]:
    public_spec = public_openapi.document(public_url=services.settings.public_url)

    async def healthz(_request: Request) -> Response:
        engine = services.database.engine.execution_options(sqlite_deferred=True)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return PlainTextResponse("ok")

    async def public_openapi_document(_request: Request) -> Response:
        return JSONResponse(public_spec, headers={"access-control-allow-origin": "*"})

    return [
        Route("/healthz", healthz),
        Route("/api/v2/openapi.json", public_openapi_document, methods=["GET", "HEAD"]),
        StaffRoutes(services),
        *subscribe.routes(services, cache),
        *public_routes.routes(cache),
    ]


class StaffRoutes(BaseRoute):
    """Every route under /api/staff/, /staff/ and /api/alerts/ (the staff API, the console,
    the monitoring webhooks), imported and
    built at the first request to one of them: a web worker only readers use never loads the
    console, the compensation domain, argon2 or the staff API's models (about 14 MB of its
    RSS). `routes` builds them too, for whoever walks the app's routes."""

    PREFIXES = ("/api/staff/", "/staff/", "/api/alerts/")

    def __init__(self, services: Services) -> None:
        self._services = services
        self._router: Router | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        return self._built().routes

    def _built(self) -> Router:
        if self._router is None:
            self._router = Router(routes=_staff_routes(self._services))
        return self._router

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and get_route_path(scope).startswith(self.PREFIXES):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self._built().url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A path no staff route takes answers 404 or 405 as the app's own router would.
        await self._built()(scope, receive, send)


def _staff_routes(services: Services) -> list[BaseRoute]:
    from statuspage.api import alert_hooks, compensation_streams
    from statuspage.console import routes as console

    async def staff_openapi(_request: Request) -> Response:
        return JSONResponse(_staff_openapi())

    return [
        Route("/api/staff/openapi.json", staff_openapi),
        *routing.routes(staff_endpoints(), services, prefix="/api/staff"),
        *compensation_streams.routes(services),
        *alert_hooks.routes(services),
        *console.routes(services),
    ]


@functools.cache
def staff_endpoints() -> list[Endpoint]:
    """The staff API's endpoint table: incidents, broadcasts, subscribers as CSV and
    compensation."""
    from statuspage.api import broadcasts, compensation, detection, subscriber_csv
    from statuspage.api import incidents as staff_api

    return [
        *staff_api.ENDPOINTS,
        *broadcasts.ENDPOINTS,
        *subscriber_csv.ENDPOINTS,
        *compensation.ENDPOINTS,
        *detection.ENDPOINTS,
    ]


def _lifespan(
    running: Running,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        running.cache.start()
        if running.exporter is not None:
            running.exporter.start()
        if running.doorbell is not None:
            await running.doorbell.start()
        for part in (running.worker, running.credit_worker, running.scheduler):
            if part is not None:
                await part.start()
        # What starting made (modules, mappers, templates, the app) lives as long as the
        # process. Frozen, it is no longer walked by every full garbage collection, and those
        # walks were most of the readers' tail latency: p99 of the cached page under wrk -c256
        # went from 80-180 ms to 27-86 ms, beside 27-38 ms for a bare hello-world.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()  # whatever outlives this app (tests make many) is collectable again
        await _stop(running)

    return lifespan


@functools.cache
def _staff_openapi() -> dict[str, Any]:
    """The staff API's OpenAPI document: the same for every app, built once, when first asked
    (building it costs about 0.1 s, which every app made in a test or a worker paid)."""
    from statuspage.api import compensation_streams, openapi

    return openapi.openapi(
        staff_endpoints(),
        prefix="/api/staff",
        title="Status page staff API",
        streamed=compensation_streams.STREAMED,
    )


async def _stop(running: Running) -> None:
    await running.services.batches.close()  # the alerts queued are written and answered
    for part in (running.scheduler, running.credit_worker, running.worker):
        if part is not None:
            await part.close()
    if running.doorbell is not None:
        await running.doorbell.close()
    if running.exporter is not None:
        await running.exporter.close()
    await running.cache.close()
    if running.owns_database:
        await running.services.database.dispose()


def app_from_env() -> StatusApp:
    """The factory the server runs (`granian --factory statuspage.app:app_from_env`)."""
    return create_app(Settings.from_env())


_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


def http_error_handler(cache: PublicCache) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Errors no route answered: the API's error JSON under /api/ (with the CORS header a
    browser script needs to read a 404, or any answer of the public API), the site's own
    not-found page for a reader's unknown address, plain text in the console."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        path = request.url.path
        if path.startswith("/api/"):
            code = _ERROR_CODES.get(error.status_code, "http_error")
            headers = dict(error.headers or {})
            if error.status_code == 404 or path.startswith("/api/v2/"):
                headers["access-control-allow-origin"] = "*"
            return Response(
                api_error(code, error.detail),
                status_code=error.status_code,
                headers=headers,
                media_type="application/json",
            )
        if error.status_code == 404 and not path.startswith("/staff"):
            return await public_routes.not_found_page(request, cache)
        return PlainTextResponse(error.detail, status_code=error.status_code, headers=error.headers)

    return http_error


async def domain_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return routing.error_response(error)


async def database_error(request: Request, error: Exception) -> Response:
    """A write that waited for a lock longer than it could: 503 with Retry-After (the API's
    error JSON; the console answers with a page of its own). Any other database error is
    the server's: it goes on to the 500 answer, and the log."""
    if not lock_wait_exceeded(error):
        raise error
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate in {"40P01", "40001"}:  # answered as busy, but a lock-order bug shows here
        log.warning(
            "database: %s on %s %s, answered 503", sqlstate, request.method, request.url.path
        )
    if request.url.path.startswith("/api/"):
        return routing.busy_response()
    return PlainTextResponse(
        "The database is busy with another write; try again in a few seconds.",
        status_code=503,
        headers={"retry-after": str(BUSY_RETRY_SECONDS)},
    )
