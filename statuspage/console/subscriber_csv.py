"""Console pages for subscribers as CSV, beside the subscribers list: the download (the API's
CSV, audited the same way) and the import (a file or pasted text), through the same transfer
flows as the staff API; an import confirms rows at once only on the staffer's word."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.responses import Response

from incidents.broadcasting import transfers
from incidents.common.staff import SUPPORT
from statuspage.console.kit import Console, Page, route
from statuspage.console.posted import FormError

# What the staff API takes in one import (its `csv` field's max_length), as bytes here.
MAX_CSV_BYTES = 1_000_000
_READ = 1 << 16


def routes() -> list[Page]:
    return [
        route("/subscribers/csv", csv_page, SUPPORT),
        route("/subscribers/csv/export", download, SUPPORT, methods=["POST"]),
        route("/subscribers/csv/import", upload, SUPPORT, methods=["POST"], upload=True),
    ]


async def csv_page(console: Console, *, status: int = 200, **extra: Any) -> Response:
    return console.render(
        "subscribers_csv.html",
        status=status,
        columns=", ".join(transfers.COLUMNS),
        separator=transfers.SEPARATOR,
        limit=MAX_CSV_BYTES,
        pace=transfers.CONFIRMATIONS_PER_MINUTE,
        **extra,
    )


async def download(console: Console) -> Response:
    """The CSV the API's export gives, its export recorded in the audit log."""
    text, _rows = await console.write(lambda db: transfers.export_csv(db, actor=console.actor()))
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="subscribers.csv"',
            "cache-control": "no-store",
        },
    )


async def _file_text(console: Console, file: UploadFile) -> str:
    body = b""
    while chunk := await file.read(_READ):
        body += chunk
        if len(body) > MAX_CSV_BYTES:
            said = console.say("the file is over the %(limit)s-byte limit", limit=MAX_CSV_BYTES)
            raise FormError({"csv": said}, 413)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError({"csv": console.say("the file is not UTF-8 text")}) from None


async def _posted_csv(console: Console) -> str:
    """The uploaded file's text, else the pasted text."""
    file = console.form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        text = await _file_text(console, file)
    else:
        text = console.field("csv")
        if len(text.encode()) > MAX_CSV_BYTES:
            said = console.say("the text is over the %(limit)s-byte limit", limit=MAX_CSV_BYTES)
            raise FormError({"csv": said}, 413)
    if not text.strip():
        raise FormError({"csv": console.say("choose a CSV file or paste its lines")})
    return text


async def upload(console: Console) -> Response:
    """Adds the CSV's new rows as the API's import does; answers the page with the counts."""
    consent = console.field("consent_given") == "on"
    try:
        text = await _posted_csv(console)

        async def work(db: AsyncSession) -> transfers.Imported:
            rows = await transfers.parse_csv(db, text)
            return await transfers.import_rows(
                db, rows=rows, consent_given=consent, actor=console.actor(), source="console"
            )

        done = await console.write(work)
    except FormError as error:
        errors = {
            "csv" if name in {"", "file"} else name: said for name, said in error.errors.items()
        }
        return await csv_page(console, status=error.status, errors=errors, consent=consent)
    finally:
        await console.form.close()
    return await csv_page(console, imported=done, consent=consent)
