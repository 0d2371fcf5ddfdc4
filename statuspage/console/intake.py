"""Taking a draft batch's events or accounts in from the console: a file upload (a plain
multipart form streamed into the intake), a pull from the platform's event API, or a pasted
list of accounts, each answered by the batch page with what was taken."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import Response

from compensation import intake, intake_flows
from compensation.events import AccountEvent, Rejection
from compensation.schemas import AccountsIn, PullIn
from incidents.common.errors import DomainError
from statuspage.channels import platform_events
from statuspage.console import batches
from statuspage.console.batches import _, say
from statuspage.console.kit import Console
from statuspage.console.posted import FormError
from statuspage.console.refusals import domain_message, validation_messages

_READ = 1 << 16
_SPLIT = re.compile(r"[\s,;]+")
PASTED = "pasted accounts"  # the source the intake records, as the staff API's
PULLED = "platform API"


def _format(console: Console, upload: UploadFile) -> intake.IntakeFormat:
    name = (upload.filename or "").lower()
    media = (upload.content_type or "").split(";")[0].strip().lower()
    if name.endswith((".jsonl", ".ndjson")) or media in {
        "application/x-ndjson",
        "application/jsonl",
    }:
        return intake.IntakeFormat.jsonl
    if name.endswith(".csv") or media == "text/csv":
        return intake.IntakeFormat.csv
    message = _("upload a .csv file (with a header row) or a .jsonl file")
    raise FormError({"file": say(console, message)}, 415)


async def _chunks(upload: UploadFile, digest: hashlib._Hash, limit: int) -> AsyncIterator[bytes]:
    size = 0
    while chunk := await upload.read(_READ):
        size += len(chunk)
        if size > limit:
            raise FormError({"file": f"the file is over the {limit}-byte limit"}, 413)
        digest.update(chunk)
        yield chunk


async def _take(
    console: Console,
    events: AsyncIterator[list[AccountEvent | Rejection]],
    source: str,
    digest: Callable[[], str] | None,
) -> dict[str, object]:
    """Events into the draft, as the staff API takes them; what was taken, as the page says it."""
    try:
        _batch, collected = await intake_flows.take_events(
            console,
            batch_id=console.id("batch_id"),
            events=events,
            source=source,
            digest=digest,
            actor_id=console.staffer.id,
        )
    except DomainError as error:  # the write's own become a FormError in console.write
        raise FormError.of(error, console.language) from error
    counts = batches.intake_counts(collected.summary())
    return {**counts, "source": source, "repeats": collected.repeats}


async def upload(console: Console) -> dict[str, object]:
    """Reads the file line by line into sums per account (no transaction open meanwhile),
    then adds them to the draft in one short transaction; answers what was loaded, or
    raises FormError saying what was wrong with the file."""
    file = console.form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise FormError({"file": say(console, _("choose a file to upload"))})
        fmt = _format(console, file)
        digest = hashlib.sha256()
        events = intake.read_event_batches(
            _chunks(file, digest, console.settings.max_upload_bytes), format=fmt
        )
        return await _take(console, events, file.filename[:200], digest.hexdigest)
    finally:
        if isinstance(file, UploadFile):
            await file.close()


def _params(console: Console, text: str) -> dict[str, str]:
    """`name=value` lines into the query the platform's API is asked with."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sign, value = line.partition("=")
        if not sign or not name.strip():
            wrong = say(console, _("write one name=value a line (not %(line)s)"), line=line[:60])
            raise FormError({"params": wrong})
        found[name.strip()] = value.strip()
    try:
        return PullIn(params=found).params
    except ValidationError as error:
        limits = _("at most 20 names of 64 characters, values of 500")
        raise FormError({"params": say(console, limits)}) from error


async def pull(console: Console) -> dict[str, object]:
    """Every page of the platform's event API (PLATFORM_EVENTS_URL), summed as an upload is."""
    url = console.settings.platform_events_url
    if not url:
        unset = _("PLATFORM_EVENTS_URL is not set: upload a file instead")
        raise FormError({"params": say(console, unset)}, 409)
    params = _params(console, console.field("params"))

    async def events() -> AsyncIterator[list[AccountEvent | Rejection]]:
        async with httpx.AsyncClient(timeout=30.0) as client:
            pulled = platform_events.pull_events(
                client, url, params=params, token=console.settings.platform_api_token or None
            )
            async for batch in intake_flows.in_batches(pulled):
                yield batch

    return await _take(console, events(), PULLED, None)


async def paste(console: Console) -> dict[str, object]:
    """Pasted account ids (one a line, or separated by commas): each gets the coupon's fixed
    amount, as the staff API's `accounts` takes them."""
    ids = [part for part in _SPLIT.split(console.field("account_ids")) if part]
    try:
        body = AccountsIn(account_ids=ids)
    except ValidationError as error:
        first = error.errors()[0]
        where = first["loc"][1] if len(first["loc"]) > 1 else None
        bad = f"{ids[where]!r}: " if isinstance(where, int) else ""
        first_said = next(iter(validation_messages(console.language, error).values()))
        raise FormError({"account_ids": bad + first_said}) from error
    batch_id = console.id("batch_id")
    try:
        plan = await console.read(lambda db: intake_flows.plan_intake(db, batch_id=batch_id))
        collected = intake_flows.collect_accounts(plan, body.account_ids)
    except DomainError as error:  # at the top: the page has no paste form for this policy
        refused = domain_message(console.language, error)
        raise FormError({"": refused}, error.status_code) from error
    await console.write(
        lambda db: intake_flows.commit_intake(
            db,
            plan=plan,
            collected=collected,
            source=PASTED,
            digest=None,
            actor_id=console.staffer.id,
        )
    )
    counts = batches.intake_counts(collected.summary())
    return {**counts, "source": PASTED, "repeats": []}


async def _answered(
    console: Console, take: Callable[[Console], Awaitable[dict[str, object]]]
) -> Response:
    try:
        taken = await take(console)
    except FormError as error:
        return await batches.batch_page(console, status=error.status, errors=error.errors)
    return await batches.batch_page(console, taken=taken)


async def upload_events(console: Console) -> Response:
    return await _answered(console, upload)


async def pull_events(console: Console) -> Response:
    return await _answered(console, pull)


async def paste_accounts(console: Console) -> Response:
    return await _answered(console, paste)
