"""The console's downloads, as CSV: a batch's vouchers, its reconciliation, the lines its intake
refused or left out (each with its reason, in the staffer's language), all audited; and a
sample events file built from the batch's own scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from compensation import exports, scope, service
from compensation.csv_out import csv_header, csv_row
from compensation.events import EventKind
from compensation.intake import COLUMNS, EVENT_ID
from compensation.models import IntakeLeftOut, LeftOut
from incidents.common import audit
from incidents.common.db_types import utcnow
from statuspage.console.kit import Console
from statuspage.console.refusals import stored_reason
from statuspage.console.words import environment_for

_REPORT_PAGE = 1000
_UTC_8 = timezone(timedelta(hours=8))


async def _audited(console: Console, what: str) -> int:
    batch_id = console.id("batch_id")

    async def record(db: AsyncSession) -> None:
        await service.get_batch(db, batch_id=batch_id)
        await audit.record(
            db,
            actor_id=console.staffer.id,
            action=f"compensation.batch.export_{what}",
            entity_type="compensation_batch",
            entity_id=batch_id,
        )

    await console.write(record)
    return batch_id


def _attachment(name: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}


async def vouchers(console: Console) -> Response:
    batch_id = await _audited(console, "vouchers")

    async def encoded() -> AsyncIterator[bytes]:
        async for text in exports.voucher_csv(console.database.reading, batch_id=batch_id):
            yield text.encode()

    return StreamingResponse(
        encoded(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"batch-{batch_id}-vouchers.csv"),
    )


async def reconciliation(console: Console) -> Response:
    batch_id = await _audited(console, "reconciliation")
    found = await console.read(
        lambda db: exports.reconciliation(db, batch_id=batch_id, now=utcnow())
    )
    return Response(
        exports.reconciliation_csv(batch_id, found).encode(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"batch-{batch_id}-reconciliation.csv"),
    )


def _csv(chunks: AsyncIterator[str], name: str) -> Response:
    async def encoded() -> AsyncIterator[bytes]:
        async for text in chunks:
            yield text.encode()

    return StreamingResponse(
        encoded(), media_type="text/csv; charset=utf-8", headers=_attachment(name)
    )


async def _left_out_page(db: AsyncSession, *, batch_id: int, after: int) -> list[IntakeLeftOut]:
    return await service.list_left_out(db, batch_id=batch_id, limit=_REPORT_PAGE, after_id=after)


async def left_out(console: Console) -> Response:
    """Every left-out line kept, with the reason in words and as its code."""
    batch_id = await _audited(console, "left_out")
    words: Any = environment_for(console.language).get_template("_finance_words.html").module
    said = {reason: str(words.left_out_reason(reason)).strip() for reason in LeftOut}

    async def rows() -> AsyncIterator[str]:
        yield csv_header(["source", "line", "account_id", "reason_code", "reason"])
        after = 0
        while True:
            found = await console.read(partial(_left_out_page, batch_id=batch_id, after=after))
            for row in found:
                yield csv_row([row.source, row.line, row.account_id, row.reason, said[row.reason]])
            if len(found) < _REPORT_PAGE:
                return
            after = found[-1].id

    return _csv(rows(), f"batch-{batch_id}-left-out.csv")


async def refused(console: Console) -> Response:
    """Every refused line kept, with the reason the intake gave."""
    batch_id = await _audited(console, "refused")
    found = await console.read(
        lambda db: service.list_rejections(db, batch_id=batch_id, limit=service.REJECTIONS_KEPT)
    )

    async def rows() -> AsyncIterator[str]:
        yield csv_header(["source", "line", "reason"])
        for row in found:
            yield csv_row([row.source, row.line, stored_reason(console.language, row.reason)])

    return _csv(rows(), f"batch-{batch_id}-refused.csv")


async def sample(console: Console) -> Response:
    """A file in the intake's format with the batch's own components (by name and by id),
    times inside their windows, in UTC and with an offset, and the assets it pays."""
    batch_id = console.id("batch_id")

    async def read(db: AsyncSession) -> scope.Scope:
        return await scope.batch_scope(db, batch=await service.get_batch(db, batch_id=batch_id))

    found = await console.read(read)
    kind = (found.event_kinds or (EventKind.trade,))[0].value
    asset = found.pays_in or (found.assets[0] if found.assets else "USDT")
    lines = [csv_header([*COLUMNS, EVENT_ID])]
    for number, component in enumerate(found.components[:2], start=1):
        start, end = component.counted[0]
        middle = start + (end - start) / 2
        # the first by name in UTC, the second by id with the exchange's own offset
        named, at = (
            (component.name, middle.isoformat().replace("+00:00", "Z"))
            if number == 1
            else (str(component.component_id), middle.astimezone(_UTC_8).isoformat())
        )
        row = [f"example-{number}", asset, "1.5", "100", kind, named, at, f"sample-{number}"]
        lines.append(csv_row(row))

    async def rows() -> AsyncIterator[str]:
        for line in lines:
            yield line

    return _csv(rows(), f"batch-{batch_id}-sample-events.csv")
