"""The console's event upload: a plain multipart form streamed into the batch intake."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from starlette.datastructures import UploadFile

from compensation import intake, intake_flows
from incidents.common.errors import DomainError
from statuspage.console.kit import Console
from statuspage.console.posted import FormError

_READ = 1 << 16


def _format(upload: UploadFile) -> intake.IntakeFormat:
    name = (upload.filename or "").lower()
    media = (upload.content_type or "").split(";")[0].strip().lower()
    if name.endswith((".jsonl", ".ndjson")) or media in {
        "application/x-ndjson",
        "application/jsonl",
    }:
        return intake.IntakeFormat.jsonl
    if name.endswith(".csv") or media == "text/csv":
        return intake.IntakeFormat.csv
    raise FormError({"file": "upload a .csv file (with a header row) or a .jsonl file"}, 415)


async def _chunks(upload: UploadFile, digest: hashlib._Hash, limit: int) -> AsyncIterator[bytes]:
    size = 0
    while chunk := await upload.read(_READ):
        size += len(chunk)
        if size > limit:
            raise FormError({"file": f"the file is over the {limit}-byte limit"}, 413)
        digest.update(chunk)
        yield chunk


async def upload(console: Console) -> dict[str, object]:
    """Reads the file line by line into sums per account (no transaction open meanwhile),
    then adds them to the draft in one short transaction, as the staff API does; answers
    what was loaded, or raises FormError saying what was wrong with the file."""
    batch_id = console.id("batch_id")
    file = console.form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise FormError({"file": "choose a file to upload"})
        fmt = _format(file)
        digest = hashlib.sha256()
        events = intake.read_event_batches(
            _chunks(file, digest, console.settings.max_upload_bytes), format=fmt
        )
        source = file.filename[:200]
        try:
            _, collected = await intake_flows.take_events(
                console,
                batch_id=batch_id,
                events=events,
                source=source,
                digest=digest.hexdigest,
                actor_id=console.staffer.id,
            )
        except DomainError as error:  # the write's own become a FormError in console.write
            raise FormError.of(error) from error
    finally:
        if isinstance(file, UploadFile):
            await file.close()
    return {**collected.summary(), "source": source, "repeats": collected.repeats}
