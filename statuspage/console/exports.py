"""The console's downloads: a batch's vouchers and its reconciliation, as CSV, audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from compensation import exports, service
from incidents.common import audit
from incidents.common.db_types import utcnow
from statuspage.console.kit import Console


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
