"""The ASGI application: `create_app(settings)` wires routes, errors and the database."""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from incidents.common.errors import DomainError
from statuspage import security_headers
from statuspage.api import broadcasts, compensation, compensation_streams, kit
from statuspage.api import incidents as staff_api
from statuspage.config import Settings
from statuspage.console import routes as console
from statuspage.db import Database, connect
from statuspage.export.run import ContinuousExport
from statuspage.public import openapi as public_openapi
from statuspage.public import routes as public_routes
from statuspage.public import subscribe
from statuspage.public.cache import CacheFront, PublicCache
from statuspage.site import Site
from statuspage.workers.credit import CreditWorker
from statuspage.workers.delivery import DeliveryWorker
from statuspage.workers.scheduler import Scheduler

STAFF_ENDPOINTS = [*staff_api.ENDPOINTS, *broadcasts.ENDPOINTS, *compensation.ENDPOINTS]


def create_app(settings: Settings, *, database: Database | None = None) -> Starlette:
    owned = database is None
    db = (
        database if database is not None else connect(settings.database_url, echo=settings.sql_echo)
    )
    https = security_headers.is_https(settings.public_url)
    cache = PublicCache(db, Site.from_settings(settings), poll_interval=settings.cache_poll_seconds)
    worker = DeliveryWorker(db, settings) if settings.run_worker else None
    credit_worker = (
        CreditWorker(db, settings) if settings.run_worker and settings.credit_api_url else None
    )
    exporter = ContinuousExport(cache, Path(settings.export_dir)) if settings.export_dir else None
    scheduler = (
        Scheduler(db, settings, on_change=_both(cache.refresh_soon, worker))
        if settings.run_scheduler
        else None
    )

    async def after_write() -> None:
        if worker is not None:
            worker.wake()
        if scheduler is not None:
            scheduler.poke()
        await cache.refresh()  # the pages being read show the change when the write answers

    public_spec = public_openapi.document(public_url=settings.public_url)

    async def openapi(_request: Request) -> Response:
        return JSONResponse(_staff_openapi())

    async def public_openapi_document(_request: Request) -> Response:
        return JSONResponse(public_spec, headers={"access-control-allow-origin": "*"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        cache.start()
        if exporter is not None:
            exporter.start()
        for part in (worker, credit_worker, scheduler):
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
        for part in (scheduler, credit_worker, worker):
            if part is not None:
                await part.close()
        if exporter is not None:
            await exporter.close()
        await cache.close()
        if owned:
            await db.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/staff/openapi.json", openapi),
            Route("/api/v2/openapi.json", public_openapi_document, methods=["GET", "HEAD"]),
            *kit.routes(STAFF_ENDPOINTS, prefix="/api/staff"),
            *compensation_streams.routes(),
            *console.routes(),
            *subscribe.routes(),
            *public_routes.routes(),
        ],
        # Cache hits are answered by CacheFront with headers prepared at render time; every
        # other response gets the security headers from the light layer behind it.
        middleware=[
            Middleware(CacheFront, cache=cache, default_language=settings.default_language),
            Middleware(security_headers.SecurityHeaders, https=https),
        ],
        exception_handlers={
            HTTPException: http_error,
            DomainError: domain_error,
            500: security_headers.server_error_handler(https),
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.public_cache = cache
    app.state.after_write = after_write
    app.state.worker = worker
    app.state.credit_worker = credit_worker
    app.state.scheduler = scheduler
    app.state.exporter = exporter
    return app


@functools.cache
def _staff_openapi() -> dict[str, Any]:
    """The staff API's OpenAPI document: the same for every app, built once, when first asked
    (building it costs about 0.1 s, which every app made in a test or a worker paid)."""
    return kit.openapi(
        STAFF_ENDPOINTS,
        prefix="/api/staff",
        title="Status page staff API",
        streamed=compensation_streams.STREAMED,
    )


def _both(refresh: Callable[[], object], worker: DeliveryWorker | None) -> Callable[[], None]:
    """After the scheduler changed something: refresh the pages, wake the worker."""

    def changed() -> None:
        refresh()
        if worker is not None:
            worker.wake()

    return changed


def app_from_env() -> Starlette:
    """The factory the server runs (`granian --factory statuspage.app:app_from_env`)."""
    return create_app(Settings.from_env())


async def healthz(request: Request) -> Response:
    database: Database = request.app.state.database
    async with database.engine.execution_options(sqlite_deferred=True).connect() as connection:
        await connection.execute(text("SELECT 1"))
    return PlainTextResponse("ok")


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if request.url.path.startswith("/api/"):
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": error.detail, "field": None}},
            status_code=error.status_code,
            headers=error.headers,
        )
    return PlainTextResponse(error.detail, status_code=error.status_code, headers=error.headers)


async def domain_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return kit.error_response(error)
