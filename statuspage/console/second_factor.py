"""The console's second factor: enrolment with a QR code and the recovery codes shown once,
new recovery codes, removal, and the sign-in's second step (a code after the password).

Between the two steps of a sign-in the browser holds a short-lived signed token (its own
cookie, its own purpose) naming the staff member and their session version, so a password
change, a deactivation or a reset in between voids it, and carrying the CSRF token of the
browser's sign-in session, so it is good in that browser only.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from incidents.common.db_types import utcnow
from incidents.common.errors import DomainError
from incidents.common.staff import ANY_STAFF, Staff
from statuspage.access import second_factor, staff_accounts, totp
from statuspage.access.rate_limits import Window
from statuspage.access.signing import InvalidToken, Signer
from statuspage.access.totp import SecretBox, Unsealable
from statuspage.console.kit import (
    Console,
    FormError,
    Page,
    Refused,
    Session,
    check_csrf,
    console_path,
    page,
    read_form,
    read_session,
    route,
    set_session,
)
from statuspage.services import Services

# Failed codes per staff member, from any address (the password is already known to whoever
# is guessing): in 15 minutes five of the million codes are tried, not more.
CODE_LIMIT = Window("second_factor", 5, 900.0)
PENDING_COOKIE = "staff_pending"
PENDING_PURPOSE = "staff-second-factor"
PENDING_SECONDS = 300
ENROL_SECONDS = 900  # a QR code on the enrolment page is good this long
T = TypeVar("T")


def routes() -> list[Page]:
    return [
        route("/second-factor", overview, ANY_STAFF, enrolling=True),
        route("/second-factor", enrol, ANY_STAFF, methods=["POST"], enrolling=True),
        route("/second-factor/recovery-codes", replace_codes, ANY_STAFF, methods=["POST"]),
        route("/second-factor/remove", remove, ANY_STAFF, methods=["POST"]),
    ]


def code_route(services: Services) -> Route:
    """The sign-in's second step: like the sign-in page, open before there is a session."""
    return Route("/staff/login/code", partial(code_step, services), methods=["GET", "POST"])


async def _box(services: Services) -> SecretBox:
    return SecretBox(await services.keys.site())


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


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
        raise FormError({"code": "this enrolment form is not valid: start again"}) from error
    if time.time() - int(issued) > ENROL_SECONDS:
        raise FormError({"code": "this QR code has expired: scan the new one"}, status=400)
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
    step = totp.matching_step(secret, console.field("code"), now=utcnow(), after=-1)
    if step is None:
        wrong = {"code": "this is not the code the app shows now: check the phone's clock"}
        return await overview(console, status=400, errors=wrong, secret=secret)

    async def work(db: AsyncSession) -> tuple[Staff, list[str]]:
        staff = await staff_accounts.get_staff(db, staff_id=console.staffer.id)
        return staff, await second_factor.enrol(db, staff=staff, secret=secret, step=step, box=box)

    try:
        staff, codes = await console.write(work)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    next_path = console_path(console.field("next"))
    response = console.render("second_factor_codes.html", codes=codes, next=next_path)
    await _keep_signed_in(console, response, staff)
    return response


async def _keep_signed_in(console: Console, response: Response, staff: Staff) -> None:
    """This session goes on at the new version; the person's other sessions are signed out."""
    fresh = Session(staff.id, staff.session_version, console.session.csrf, int(time.time()))
    await set_session(console.services, response, fresh)


async def _with_code(console: Console, then: Callable[[AsyncSession, Staff], Awaitable[T]]) -> T:
    """Runs `then` only if the form's code is the person's second factor; a wrong code is
    audited and counted (committed all the same) and answered with a FormError."""
    key, now = f"staff:{console.staffer.id}", utcnow()
    async with console.database.reading() as db:
        wait = await CODE_LIMIT.wait(db, key, now=now)
    if wait:
        limited = f"too many wrong codes: try again in {_minutes(wait)} minutes"
        raise FormError({"code": limited}, status=429)
    box = await _box(console.services)
    async with console.database.sessionmaker() as db, db.begin():
        staff = await staff_accounts.get_staff(db, staff_id=console.staffer.id)
        passed = await second_factor.check(
            db, staff=staff, code=console.field("code"), box=box, now=now
        )
        if passed is None:
            await CODE_LIMIT.add(db, key, now=now)
        else:
            try:
                result = await then(db, staff)
            except DomainError as error:
                raise FormError.of(error) from error
    await console.services.after_write()
    if passed is None:
        raise FormError({"code": "this code is wrong, or was used already"}, status=401)
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
        await second_factor.remove(db, staff=staff)
        return staff

    try:
        staff = await _with_code(console, work)
    except FormError as error:
        return await overview(console, status=error.status, errors=error.errors)
    response = console.redirect("/staff/second-factor", done="second_factor_removed")
    await _keep_signed_in(console, response, staff)
    return response


# -- the sign-in's second step ------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A right password of someone with a second factor: their code comes next."""

    staff_id: int
    version: int


async def _signer(services: Services) -> Signer:
    return Signer(await services.keys.site())


async def ask_for_code(
    services: Services, pending: Pending, session: Session, next_path: str
) -> Response:
    """The answer to a right password when a code must follow: the code page, with the
    pending sign-in in its own cookie, bound to this browser's sign-in session."""
    expires = datetime.now(UTC) + timedelta(seconds=PENDING_SECONDS)
    token = (await _signer(services)).make(
        PENDING_PURPOSE, pending.staff_id, pending.version, expires, nonce=session.csrf
    )
    response = RedirectResponse(
        f"/staff/login/code?next={quote(next_path, safe='/')}", status_code=303
    )
    response.set_cookie(
        PENDING_COOKIE,
        token,
        max_age=PENDING_SECONDS,
        path="/staff/login",
        secure=_secure(services),
        httponly=True,
        samesite="lax",
    )
    return response


def _secure(services: Services) -> bool:
    return services.settings.public_url.startswith("https://")


def _forget_pending(services: Services, response: Response) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path="/staff/login", secure=_secure(services), httponly=True
    )


async def _pending(services: Services, request: Request, session: Session) -> Pending | None:
    raw = request.cookies.get(PENDING_COOKIE, "")
    try:
        claims = (await _signer(services)).claims(PENDING_PURPOSE, raw, now=datetime.now(UTC))
    except InvalidToken:
        return None
    if not secrets.compare_digest(claims.nonce, session.csrf):
        return None
    return Pending(claims.subject, claims.version)


def _code_page(
    services: Services, request: Request, session: Session, *, status: int = 200, **values: Any
) -> Response:
    return page(
        services.settings,
        request,
        "login_code.html",
        status=status,
        csrf=session.csrf,
        next=console_path(request.query_params.get("next", "")),
        **values,
    )


async def _start_again(services: Services, request: Request, session: Session | None) -> Response:
    """The pending sign-in is gone (expired, voided, another browser's): the password page
    again, saying so."""
    session = session or Session.anonymous()
    response = page(
        services.settings,
        request,
        "login.html",
        status=403,
        csrf=session.csrf,
        next=console_path(request.query_params.get("next", "")),
        error="code_expired",
    )
    _forget_pending(services, response)
    await set_session(services, response, session)
    return response


async def code_step(services: Services, request: Request) -> Response:
    session = await read_session(services, request)
    if session is not None and session.staff_id:
        return RedirectResponse("/staff/", status_code=303)
    pending = await _pending(services, request, session) if session else None
    if session is None or pending is None:
        if request.method == "GET":
            return RedirectResponse("/staff/login", status_code=303)
        return await _start_again(services, request, session)
    if request.method == "GET":
        return _code_page(services, request, session)
    try:
        form = await read_form(request)
        check_csrf(session, form)
    except (FormError, Refused):
        return await _start_again(services, request, session)
    code = str(form.get("code", ""))[:64]
    return await _check_code(services, request, session, pending, code, str(form.get("next", "")))


async def _check_code(
    services: Services,
    request: Request,
    session: Session,
    pending: Pending,
    code: str,
    next_path: str,
) -> Response:
    key, now = f"staff:{pending.staff_id}", utcnow()
    async with services.database.reading() as db:
        wait = await CODE_LIMIT.wait(db, key, now=now)
    if wait:
        return _code_page(
            services, request, session, status=429, error="limited", wait=_minutes(wait)
        )
    box = await _box(services)
    async with services.database.sessionmaker() as db, db.begin():
        staff = await db.get(Staff, pending.staff_id)
        if staff is None or not staff_accounts.session_is_current(staff, pending.version):
            return await _start_again(services, request, session)
        passed = await second_factor.check(db, staff=staff, code=code, box=box, now=now)
        if passed is None:
            await CODE_LIMIT.add(db, key, now=now)
        else:
            await CODE_LIMIT.clear(db, key)
            await staff_accounts.record_sign_in(db, staff=staff, second_factor=passed.value)
    if passed is None:
        return _code_page(services, request, session, status=401, error="wrong")
    response = RedirectResponse(console_path(next_path), status_code=303)
    _forget_pending(services, response)
    signed = Session(staff.id, staff.session_version, secrets.token_urlsafe(24), int(time.time()))
    await set_session(services, response, signed)  # a new token: no session fixation
    return response
