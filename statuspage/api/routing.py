"""A small declarative layer for JSON APIs: auth, body limits, validation and errors.

Each endpoint is one `Endpoint` row; the same rows build the Starlette routes (here) and the
OpenAPI document (`statuspage.api.openapi`), so the documented surface is the served one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.errors import DomainError, NotFound
from incidents.common.staff import ApiToken, StaffRole
from statuspage.access.tokens import Principal, authenticate, require_role
from statuspage.config import Settings
from statuspage.db import BUSY_RETRY_SECONDS, Database, lock_wait_exceeded
from statuspage.services import Services

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1


class _IdConvertor(IntegerConvertor):
    """`int`, capped at 18 digits: a longer id matches no route (404) instead of tripping
    `int()`'s 4,300-digit limit (500)."""

    regex = "[0-9]{1,18}"


register_url_convertor("id", _IdConvertor())


class RequestInvalid(DomainError):
    status_code = 422
    code = "validation_error"

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        name, message = fields[0]
        super().__init__(f"{name}: {message}" if name else message, field=name or None)
        self.fields = fields


class BodyTooLarge(DomainError):
    status_code = 413
    code = "body_too_large"


class DatabaseBusy(DomainError):
    """Another transaction held a lock this write needed for longer than it could wait."""

    status_code = 503
    code = "database_busy"


@dataclass(frozen=True)
class Call:
    """What a handler gets: the transaction, who calls, and the parsed input."""

    session: AsyncSession
    principal: Principal
    settings: Settings
    path: dict[str, int]
    body: Any
    query: Any

    def actor(self) -> Actor:
        return Actor(
            staff_id=self.principal.staff_id, default_language=self.settings.default_language
        )


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    roles: frozenset[StaffRole]
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status_code: int = 200
    tags: tuple[str, ...] = field(default=())

    @property
    def path_params(self) -> list[str]:
        return path_params(self.path)


def tagged(
    method: str, path: str, handler: Any, roles: frozenset[StaffRole], summary: str, **options: Any
) -> Endpoint:
    """An endpoint listed in the OpenAPI document under its path's first segment."""
    tag = path.strip("/").split("/")[0]
    return Endpoint(method, path, handler, roles, summary, tags=(tag,), **options)


def path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def error_response(error: DomainError) -> JSONResponse:
    detail: dict[str, Any] = {"code": error.code, "message": error.message, "field": error.field}
    if isinstance(error, RequestInvalid):
        detail["fields"] = [{"field": name, "message": message} for name, message in error.fields]
    headers = {"retry-after": str(BUSY_RETRY_SECONDS)} if isinstance(error, DatabaseBusy) else None
    return JSONResponse({"error": detail}, status_code=error.status_code, headers=headers)


def busy_response() -> JSONResponse:
    """The answer to a write that waited for a lock longer than it could (see `db`)."""
    return error_response(
        DatabaseBusy("the database is busy with another write; try again in a few seconds")
    )


def routes(endpoints: Sequence[Endpoint], services: Services, *, prefix: str) -> list[Route]:
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    built = []
    for path, group in by_path.items():
        starlette_path = prefix + path.replace("}", ":id}")
        methods = {endpoint.method: endpoint for endpoint in group}
        built.append(Route(starlette_path, _dispatch(methods, services), methods=list(methods)))
    return built


def _dispatch(
    methods: dict[str, Endpoint], services: Services
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        chosen = methods[request.method if request.method != "HEAD" else "GET"]
        try:
            return await _serve(chosen, services, request)
        except DomainError as error:
            return error_response(error)

    return endpoint


async def _serve(endpoint: Endpoint, services: Services, request: Request) -> Response:
    settings, database = services.settings, services.database
    path = _path_ids(endpoint, request)
    raw = await _read_body(request, settings.max_body_bytes) if endpoint.body else b""
    # A GET reads in a read transaction (on SQLite a deferred BEGIN, which never waits for
    # the write lock); the token's last use it would have written is recorded after it.
    reads = endpoint.method == "GET"
    sessions = database.reading if reads else database.sessionmaker
    async with sessions() as session, session.begin():
        principal = await authenticate(session, authorization=request.headers.get("authorization"))
        used = _last_use(session) if reads else None
        require_role(principal, endpoint.roles)
        call = Call(
            session=session,
            principal=principal,
            settings=settings,
            path=path,
            body=_parse_body(endpoint.body, raw) if endpoint.body else None,
            query=parse_query(endpoint.query, request),
        )
        result = await endpoint.handler(call)
    if not reads:
        await services.after_write()  # this instance's public pages show the change at once
    later = BackgroundTask(_record_use, database, *used) if used is not None else None
    return JSONResponse(_dump(result), status_code=endpoint.status_code, background=later)


def _last_use(session: AsyncSession) -> tuple[int, datetime] | None:
    """The last use `authenticate` has just set on the token, taken out of this read's
    transaction (which then writes nothing) to be recorded on its own."""
    for token in session.dirty:
        if isinstance(token, ApiToken) and token.last_used_at is not None:
            found = (token.id, token.last_used_at)
            session.expire(token)  # the change is dropped, not flushed
            return found
    return None


async def _record_use(database: Database, token_id: int, used_at: datetime) -> None:
    """After the answer: a token's last use is worth a short write, not a read's wait."""
    try:
        async with database.sessionmaker() as session, session.begin():
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=used_at)
            )
    except DBAPIError as error:
        if not lock_wait_exceeded(error):
            raise
        log.info("API token %s: last use not recorded, the database was busy", token_id)


def _path_ids(endpoint: Endpoint, request: Request) -> dict[str, int]:
    ids = {name: int(request.path_params[name]) for name in endpoint.path_params}
    for name, value in ids.items():
        if not 1 <= value <= MAX_ID:
            raise NotFound(f"{name.removesuffix('_id')} {value} does not exist", field=name)
    return ids


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body is over the {limit}-byte limit", field="body")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the request body is over the {limit}-byte limit", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_model(request: Request, model: type[BaseModel], *, limit: int) -> BaseModel:
    """A request's JSON body read within the size limit and validated, for routes outside
    the endpoint table."""
    return _parse_body(model, await _read_body(request, limit))


async def read_bytes(request: Request, *, limit: int) -> bytes:
    """A request's body within the size limit (413 past it), for routes that need the
    bytes themselves (a signature is over them)."""
    return await _read_body(request, limit)


def parse_model(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Bytes read by `read_bytes` as `model` (422 naming the field)."""
    return _parse_body(model, raw)


def _parse_body(model: type[BaseModel], raw: bytes) -> BaseModel:
    if not raw.strip():
        raise RequestInvalid([("body", "a JSON object is required")])
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # also a 4,300-digit number, deep nesting
        raise RequestInvalid([("body", f"not valid JSON ({error})")]) from error
    if not isinstance(data, dict):
        raise RequestInvalid([("body", "must be a JSON object")])
    if (where := _nul_at(data)) is not None:
        raise RequestInvalid([(where, _NUL_MESSAGE)])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestInvalid(_fields(error)) from error


_NUL_MESSAGE = "must not contain NUL characters"


def _nul_at(data: dict[str, Any]) -> str | None:
    """Where a NUL character is (PostgreSQL text cannot store one), walked without
    recursion because the JSON may nest as deep as the decoder allowed."""
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return where
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                name = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    return name
                pending.append((name, child))
    return None


def parse_query(model: type[BaseModel] | None, request: Request) -> BaseModel | None:
    """The query validated against `model` (unknown names refused), or refused whole when
    the route takes none; NUL characters refused either way."""
    params = request.query_params
    for name, value in params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise RequestInvalid([(name, _NUL_MESSAGE)])
    if model is None:
        if params:
            name = next(iter(params.keys()))
            raise RequestInvalid([(name, "this endpoint takes no query parameters")])
        return None
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        raise RequestInvalid(_fields(error)) from error


def enum_values(raw: str | None, kind: type[Any]) -> list[Any] | None:
    """A comma-separated query value as members of the enum `kind` (None when absent); an
    unknown name is refused with the valid ones listed."""
    if raw is None or raw == "":
        return None
    names = [name.strip() for name in raw.split(",")]
    valid = {member.value for member in kind}
    for name in names:
        if name not in valid:
            raise ValueError(f"{name!r} is not one of {', '.join(sorted(valid))}")
    return [kind(name) for name in names]


def _fields(error: ValidationError) -> list[tuple[str, str]]:
    found = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"] if part != "[key]")
        message = str(item["msg"]).removeprefix("Value error, ")
        if not name and ": " in message:
            name, message = message.split(": ", 1)
        found.append((name, message))
    return found or [("body", "invalid")]


def _dump(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_dump(item) for item in result]
    return result
