"""The console's second factor: enrolment with a QR code and the recovery codes shown once
(after the current password, asked again: a stolen session alone cannot enrol a new phone),
new recovery codes, and removal. The sign-in's own code step is in `sign_in_code`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents.common.db_types import utcnow
from incidents.common.errors import DomainError
from incidents.common.staff import ANY_STAFF, Staff
from statuspage.access import rate_limits, second_factor, staff_accounts, totp
from statuspage.access.totp import SecretBox, Unsealable
from statuspage.console import sign_in_limits as limits
from statuspage.console.kit import Console, Page, console_path, route
from statuspage.console.posted import FormError
from statuspage.console.sessions import set_session
from statuspage.console.sign_in_code import CODE_LIMIT, minutes
from statuspage.services import Services

ENROL_SECONDS = 900  # a QR code on the enrolment page is good this long
T = TypeVar("T")


def routes() -> list[Page]:
    return [
        route("/second-factor", overview, ANY_STAFF, enrolling=True),
        route("/second-factor", enrol, ANY_STAFF, methods=["POST"], enrolling=True),
        route("/second-factor/recovery-codes", replace_codes, ANY_STAFF, methods=["POST"]),
        route("/second-factor/remove", remove, ANY_STAFF, methods=["POST"]),
    ]


async def _box(services: Services) -> SecretBox:
    return SecretBox(await services.keys.site())


# -- enrolment and the person's own page --------------------------------------------------


def _enrol_context(console: Console) -> str:
    """A QR code shown to this person in this session only; a sign-out or password change
    in between voids it."""
    return f"enrol:{console.staffer.id}:{console.session.version}"


async def overview(console: Console, *, status: int = 200, **values: Any) -> Response:
    if console.staffer.has_second_factor:
        return await _enrolled_page(console, status=status, **values)
    box = await _box(console.services)
    secret = values.pop("secret", None) or totp.new_secret()
    pending = box.seal(f"{int(time.time())}:{secret}", context=_enrol_context(console))
    uri = totp.provisioning_uri(
        secret, account=console.staffer.email, issuer=console.settings.site_name
    )
    return console.render(
        "second_factor.html",
        status=status,
        qr=Markup(totp.qr_svg(uri)),  # noqa: S704 - paths of our own making, no text
        key=totp.grouped(secret),
        pending=pending,
        next=console_path(console.request.query_params.get("next", "")),
        **values,
    )


async def _enrolled_page(console: Console, *, status: int, **values: Any) -> Response:
    async def load(db: AsyncSession) -> tuple[datetime | None, int]:
        factor = await second_factor.find(db, staff_id=console.staffer.id)
        left = await second_factor.recovery_codes_left(db, staff_id=console.staffer.id)
        return (factor.enrolled_at if factor else None), left

    enrolled_at, left = await console.read(load)
    return console.render(
        "second_factor.html", status=status, enrolled_at=enrolled_at, left=left, **values
    )


def _opened(console: Console, box: SecretBox) -> str:
    """The secret the enrolment form was shown with, while that form is fresh."""
    try:
        issued, _, secret = box.open(
            console.field("pending"), context=_enrol_context(console)
        ).partition(":")
    except Unsealable as error:
        raise FormError(
            {"code": console.say("this enrolment form is not valid: start again")}
        ) from error
    if time.time() - int(issued) > ENROL_SECONDS:
        raise FormError(
            {"code": console.say("this QR code has expired: scan the new one")}, status=400
        )
    return secret


async def enrol(console: Console) -> Response:
    """Keeps the authenticator once it shows a right code; the recovery codes are shown on
    this one response, never again (no redirect to lose them)."""
    if console.staffer.has_second_factor:
        return console.redirect("/staff/second-factor")
    box = await _box(console.services)
    try:
        secret = _opened(console, box)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    try:
        await _confirm_password(console)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors, secret=secret)
    step = totp.matching_step(secret, console.field("code"), now=utcnow(), after=-1)
    if step is None:
        wrong = {
            "code": console.say("this is not the code the app shows now: check the phone's clock")
        }
        return await overview(console, status=400, errors=wrong, secret=secret)

    async def work(db: AsyncSession) -> tuple[Staff, list[str]]:
        staff = await staff_accounts.get_staff(db, staff_id=console.staffer.id)
        codes = await second_factor.enrol(
            db, staff=staff, secret=secret, step=step, box=box, keep_session=console.session.key
        )
        return staff, codes

    try:
        staff, codes = await console.write(work)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    next_path = console_path(console.field("next"))
    response = console.render("second_factor_codes.html", codes=codes, next=next_path)
    await _keep_signed_in(console, response, staff)
    return response


async def _confirm_password(console: Console) -> None:
    """The current password, asked again before a new phone is enrolled; a wrong one is
    counted (and limited) as a failed sign-in is, a right one refunded as a sign-in is."""
    services, email = console.services, console.staffer.email
    attempt = await limits.attempt(services, console.request, email)
    counted = await limits.check(services, attempt)
    if isinstance(counted, rate_limits.Full):
        limited = console.say_n(
            "too many failed sign-ins: try again in %(num)d minute",
            "too many failed sign-ins: try again in %(num)d minutes",
            minutes(counted.wait),
        )
        raise FormError({"password": limited}, status=429)
    password = str(console.form.get("password", ""))
    async with console.database.reading() as db:
        staff = await staff_accounts.check_password(db, email=email, password=password)
    right = staff is not None and staff.id == console.staffer.id
    await limits.settle(services, attempt, counted, succeeded=right)
    if not right:
        raise FormError({"password": console.say("this is not your current password")}, status=400)


async def _keep_signed_in(console: Console, response: Response, staff: Staff) -> None:
    """This session goes on at the new version (its row on the server kept); the person's
    other sessions were ended with the change."""
    kept = dataclasses.replace(console.session, version=staff.session_version)
    await set_session(console.services, response, kept)


async def _with_code(console: Console, then: Callable[[AsyncSession, Staff], Awaitable[T]]) -> T:
    """Runs `then` only if the form's code is the person's second factor; a code is counted
    before it is checked, a wrong one audited and kept counted (committed all the same) and
    answered with a FormError, a right one refunded."""
    key = f"staff:{console.staffer.id}"
    async with console.database.sessionmaker() as db, db.begin():
        counted = await rate_limits.reserve(db, [(CODE_LIMIT, key)], now=utcnow())
    if isinstance(counted, rate_limits.Full):
        limited = console.say_n(
            "too many wrong codes: try again in %(num)d minute",
            "too many wrong codes: try again in %(num)d minutes",
            minutes(counted.wait),
        )
        raise FormError({"code": limited}, status=429)
    box = await _box(console.services)
    async with console.database.sessionmaker() as db, db.begin():
        staff = await staff_accounts.get_staff(db, staff_id=console.staffer.id)
        passed = await second_factor.check(
            db, staff=staff, code=console.field("code"), box=box, now=utcnow()
        )
        if passed is not None:
            await rate_limits.refund(db, counted)
            try:
                result = await then(db, staff)
            except DomainError as error:
                raise FormError.of(error, console.language) from error
    await console.services.after_write()
    if passed is None:
        raise FormError(
            {"code": console.say("this code is wrong, or was used already")}, status=401
        )
    return result


async def replace_codes(console: Console) -> Response:
    async def work(db: AsyncSession, staff: Staff) -> list[str]:
        return await second_factor.new_recovery_codes(db, staff=staff)

    try:
        codes = await _with_code(console, work)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    return console.render("second_factor_codes.html", codes=codes, next="/staff/second-factor")


async def remove(console: Console) -> Response:
    async def work(db: AsyncSession, staff: Staff) -> Staff:
        await second_factor.remove(db, staff=staff, keep_session=console.session.key)
        return staff

    try:
        staff = await _with_code(console, work)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    response = console.redirect("/staff/second-factor", done="second_factor_removed")
    await _keep_signed_in(console, response, staff)
    return response
