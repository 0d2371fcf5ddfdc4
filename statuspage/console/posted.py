"""What a console POST carries and what can be wrong with it: the form (url-encoded, or an
upload read as it arrives), its CSRF token, and the errors shown back by field."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from incidents.common.errors import N_, DomainError
from statuspage.console import refusals, uploads
from statuspage.console.sessions import Session, Staffer
from statuspage.console.words import translations

MAX_FORM_BYTES = 262_144


class Refused(Exception):
    """Signed in, but this page or action is not theirs (403), or the form is stale (CSRF)."""

    def __init__(self, reason: str, staffer: Staffer | None = None, csrf: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.staffer, self.csrf = staffer, csrf  # their own navigation on the refusal page


class FormError(Exception):
    """What was wrong with a form, by field name ("" for the form as a whole)."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors
        self.status = status

    @classmethod
    def of(cls, error: DomainError | ValidationError, language: str) -> FormError:
        """The refusal in the staffer's language, by field."""
        if isinstance(error, ValidationError):
            return cls(refusals.validation_messages(language, error))
        said = refusals.domain_message(language, error)
        return cls({error.field or "": said}, status=error.status_code)


def parse(model: type[BaseModel], data: dict[str, Any], language: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormError.of(error, language) from error


def local_time(text: str, zone: ZoneInfo, name: str, language: str) -> datetime | None:
    """A `datetime-local` input, read in the site's time zone; empty means none."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError as error:
        said = translations(language).gettext(N_("enter a date and time like 2026-03-01 14:30"))
        raise FormError({name: said}) from error


def check_csrf(session: Session, form: FormData) -> None:
    sent = form.get("csrf")
    # compare_digest refuses non-ASCII text with a TypeError (a 500): such a token is wrong
    if (
        not isinstance(sent, str)
        or not sent.isascii()
        or not hmac.compare_digest(sent, session.csrf)
    ):
        raise Refused("csrf")


async def read_form(request: Request) -> FormData:
    """A url-encoded form, read up to MAX_FORM_BYTES (over it: refused)."""
    kind = request.headers.get("content-type", "")
    if kind and not kind.startswith("application/x-www-form-urlencoded"):
        raise Refused("form")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError({"form": f"the form is over the {MAX_FORM_BYTES}-byte limit"}, 413)
    pairs: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    )
    return FormData(pairs)


async def read_upload(
    request: Request, limit: int, *, before_file: Callable[[FormData], None]
) -> FormData:
    """A multipart form with one file, spooled to disk as it arrives: only once
    `before_file` accepts the fields sent before it (the CSRF token, which leads every
    console form), and only while the body, counted as it arrives, stays within `limit`
    bytes, whether it declared its length or not (chunked)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _upload_too_large(limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Refused("form")
    try:
        return await uploads.parse(request, limit=limit, before_file=before_file)
    except uploads.TooLarge as error:
        raise _upload_too_large(limit) from error


def _upload_too_large(limit: int) -> FormError:
    return FormError({"file": f"the file is over the {limit}-byte limit"}, 413)
