"""Finance routes that stream: event uploads and pulls, issuing, and the CSV exports.

They live outside the JSON endpoint table because each holds no transaction while bytes
flow: the upload is read and summed first, then written in one short transaction; issuing
commits chunk by chunk; exports read a page at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from compensation import exports, intake, intake_flows, issuing, service
from compensation.errors import Conflict, DomainError, NotFound
from compensation.events import AccountEvent, Rejection
from compensation.schemas import BatchOut, PullIn
from incidents.common import audit
from incidents.common.db_types import utcnow
from incidents.common.staff import FINANCE
from statuspage.access.tokens import Principal, authenticate, require_role
from statuspage.api import routing
from statuspage.api.compensation import batch_out
from statuspage.api.openapi import Streamed, schema_ref
from statuspage.channels import platform_events
from statuspage.db import Database
from statuspage.services import Services

_PREFIX = "/api/staff/compensation/batches/{batch_id:id}"
_FORMATS = {
    "text/csv": intake.IntakeFormat.csv,
    "application/x-ndjson": intake.IntakeFormat.jsonl,
    "application/jsonl": intake.IntakeFormat.jsonl,
    "application/json-lines": intake.IntakeFormat.jsonl,
}
REJECTIONS_SHOWN = 100
_JSON = "application/json"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class SourceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        default="upload", description="what the events came from, kept with the intake"
    )


class RejectionLine(BaseModel):
    line: int
    reason: str


class RepeatLine(BaseModel):
    line: int
    first_source: str = Field(description="the source that first brought the same event")
    first_line: int


class IntakeOut(BaseModel):
    accepted: int
    rejected: int
    ineligible: int
    repeated: int = Field(description="events the batch had already taken: not summed again")
    lines: int
    rejections: list[RejectionLine] = Field(
        description=f"the first {REJECTIONS_SHOWN} lines refused, with reasons"
    )
    repeats: list[RepeatLine] = Field(
        description=f"the first {intake_flows.REPEATS_KEPT} repeated events, with where each "
        "was first taken"
    )
    batch: BatchOut


async def _finance(
    services: Services, request: Request, query: type[BaseModel] | None = None
) -> tuple[Principal, int, Any]:
    """Who calls (finance or admin), in a short transaction; the batch id of the path; the
    query validated as the endpoint table's routes validate theirs."""
    async with services.database.sessionmaker() as session, session.begin():
        principal = await authenticate(session, authorization=request.headers.get("authorization"))
        require_role(principal, FINANCE)
    batch_id = int(request.path_params["batch_id"])
    if not 1 <= batch_id <= 2**31 - 1:
        raise NotFound(f"batch {batch_id} does not exist", field="batch_id")
    return principal, batch_id, routing.parse_query(query, request)


def _format(request: Request) -> intake.IntakeFormat:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    found = _FORMATS.get(media)
    if found is None:
        raise UnsupportedMediaType(
            "send the events as text/csv or application/x-ndjson (JSON Lines)",
            field="Content-Type",
        )
    return found


async def upload_events(services: Services, request: Request) -> Response:
    principal, batch_id, query = await _finance(services, request, SourceQuery)
    settings = services.settings
    source = query.source[:200] or "upload"
    digest = hashlib.sha256()

    async def chunks() -> AsyncIterator[bytes]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise routing.BodyTooLarge(
                    f"the upload is over the {settings.max_upload_bytes}-byte limit", field="file"
                )
            digest.update(chunk)
            yield chunk

    async def events() -> AsyncIterator[list[AccountEvent | Rejection]]:
        # The format is checked once the batch is known to take events, as it always was.
        async for batch in intake.read_event_batches(chunks(), format=_format(request)):
            yield batch

    return await _take(services.database, batch_id, events(), source, digest.hexdigest, principal)


async def pull_events(services: Services, request: Request) -> Response:
    principal, batch_id, _ = await _finance(services, request)
    settings = services.settings
    body = await routing.read_model(request, PullIn, limit=settings.max_body_bytes)
    assert isinstance(body, PullIn)

    async def events() -> AsyncIterator[list[AccountEvent | Rejection]]:
        # Checked once the batch is known to take events, as it always was.
        if not settings.platform_events_url:
            raise Conflict("PLATFORM_EVENTS_URL is not set: upload a file instead", field="source")
        async with httpx.AsyncClient(timeout=30.0) as client:
            pulled = platform_events.pull_events(
                client,
                settings.platform_events_url,
                params=body.params,
                token=settings.platform_api_token or None,
            )
            async for batch in intake_flows.in_batches(pulled):
                yield batch

    return await _take(services.database, batch_id, events(), "platform API", None, principal)


async def _take(
    database: Database,
    batch_id: int,
    events: AsyncIterator[list[AccountEvent | Rejection]],
    source: str,
    digest: Callable[[], str] | None,
    principal: Principal,
) -> Response:
    batch, collected = await intake_flows.take_events(
        database,
        batch_id=batch_id,
        events=events,
        source=source,
        digest=digest,
        actor_id=principal.staff_id,
    )
    summary = IntakeOut(
        **collected.summary(),
        lines=len(collected.aggregate),
        rejections=[
            RejectionLine(line=line, reason=reason)
            for line, reason in collected.rejections[:REJECTIONS_SHOWN]
        ],
        repeats=[
            RepeatLine(line=r.line, first_source=r.first_source, first_line=r.first_line)
            for r in collected.repeats
        ],
        batch=batch_out(batch),
    )
    return JSONResponse(summary.model_dump(mode="json"))


async def issue(services: Services, request: Request) -> Response:
    principal, batch_id, _ = await _finance(services, request)
    batch = await issuing.issue(
        services.database.sessionmaker,
        batch_id=batch_id,
        actor_id=principal.staff_id,
        credit=bool(services.settings.credit_api_url),
        chunk=services.settings.issue_chunk_vouchers,
    )
    await services.bell.ring()  # the credit worker sends the vouchers, wherever it runs
    return JSONResponse(batch_out(batch).model_dump(mode="json"))


async def _audited_export(services: Services, request: Request, what: str) -> tuple[Database, int]:
    principal, batch_id, _ = await _finance(services, request)
    database = services.database
    async with database.sessionmaker() as session, session.begin():
        await service.get_batch(session, batch_id=batch_id)
        await audit.record(
            session,
            actor_id=principal.staff_id,
            action=f"compensation.batch.export_{what}",
            entity_type="compensation_batch",
            entity_id=batch_id,
        )
    return database, batch_id


def _attachment(name: str) -> dict[str, Any]:
    return {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}


async def voucher_csv(services: Services, request: Request) -> Response:
    database, batch_id = await _audited_export(services, request, "vouchers")
    return StreamingResponse(
        _encoded(exports.voucher_csv(database.reading, batch_id=batch_id)),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"batch-{batch_id}-vouchers.csv"),
    )


async def reconciliation_csv(services: Services, request: Request) -> Response:
    database, batch_id = await _audited_export(services, request, "reconciliation")
    async with database.reading() as session:
        found = await exports.reconciliation(session, batch_id=batch_id, now=utcnow())
    return Response(
        exports.reconciliation_csv(batch_id, found).encode(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"batch-{batch_id}-reconciliation.csv"),
    )


async def _encoded(texts: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for text in texts:
        yield text.encode()


def routes(services: Services) -> list[Route]:
    return [
        Route(_PREFIX + "/events", partial(upload_events, services), methods=["POST"]),
        Route(_PREFIX + "/pull", partial(pull_events, services), methods=["POST"]),
        Route(_PREFIX + "/issue", partial(issue, services), methods=["POST"]),
        Route(_PREFIX + "/vouchers.csv", partial(voucher_csv, services), methods=["GET"]),
        Route(
            _PREFIX + "/reconciliation.csv",
            partial(reconciliation_csv, services),
            methods=["GET"],
        ),
    ]


_TEXT = {"schema": {"type": "string"}}
_CSV_OUT = {"text/csv": _TEXT}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {_JSON: {"schema": schema_ref(model)}}


def _s(method: str, path: str, summary: str, **options: Any) -> Streamed:
    return Streamed(
        method, "/compensation/batches/{batch_id}" + path, FINANCE, summary,
        tags=("compensation",), **options,
    )  # fmt: skip


_TAKEN: dict[str, Any] = {
    "answers": {200: ("the events taken and refused", _json(IntakeOut))},
    "models": (IntakeOut,),
}

# The routes above in the staff API's OpenAPI document, with what each really answers.
STREAMED = [
    _s(
        "POST",
        "/events",
        "take affected accounts' fee events from a CSV or JSON Lines file of any size",
        body={media: _TEXT for media in _FORMATS},
        query=SourceQuery,
        errors=(401, 403, 404, 409, 413, 415, 422, 503),
        **_TAKEN,
    ),
    _s(
        "POST",
        "/pull",
        "take the events from the platform's paged API (PLATFORM_EVENTS_URL)",
        json_body=PullIn,
        errors=(401, 403, 404, 409, 413, 422, 502, 503),
        **_TAKEN,
    ),
    _s(
        "POST",
        "/issue",
        "issue an approved batch's vouchers, exactly once (resumes an interrupted issue)",
        answers={200: ("issued", _json(BatchOut))},
        errors=(401, 403, 404, 409, 422, 503),
        models=(BatchOut,),
    ),
    _s(
        "GET",
        "/vouchers.csv",
        "the batch's vouchers as CSV, streamed",
        answers={200: ("the vouchers", _CSV_OUT)},
        errors=(401, 403, 404, 422, 503),  # the export is audited: a write
    ),
    _s(
        "GET",
        "/reconciliation.csv",
        "issued, delivered, redeemed, voided, expired per asset, as CSV",
        answers={200: ("the reconciliation", _CSV_OUT)},
        errors=(401, 403, 404, 422, 503),
    ),
]
