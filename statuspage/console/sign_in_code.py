"""The console sign-in's second step, a code after the password for someone with a second
factor, and the session either step ends in.

Between the two steps the browser holds a short-lived signed token (its own cookie, its own
purpose) naming the staff member and their session version, so a password change, a
deactivation or a reset in between voids it, and carrying the CSRF token of the browser's
sign-in session, so it is good in that browser only (signing out drops that session, and the
token with it). A right password's counted attempt is refunded at once, but what a complete
sign-in also does (clear its own count, make the browser known) waits for the right code.
Wrong codes are counted per account before each is checked (`rate_limits.reserve`), and stay
counted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from incidents.common.db_types import utcnow
from incidents.common.staff import Staff
from statuspage.access import rate_limits, second_factor, staff_accounts
from statuspage.access.rate_limits import Reserved, Window
from statuspage.access.second_factor import Passed
from statuspage.access.signing import InvalidToken, Signer
from statuspage.access.totp import SecretBox
from statuspage.console import sessions
from statuspage.console import sign_in_limits as limits
from statuspage.console.kit import console_path, page
from statuspage.console.posted import FormError, Refused, check_csrf, read_form
from statuspage.console.sessions import Session, read_session, set_session
from statuspage.services import Services

# Failed codes per staff member, from any address (the password is already known to whoever
# is guessing): in 15 minutes five of the million codes are tried, not more.
CODE_LIMIT = Window("second_factor", 5, 900.0)
PENDING_COOKIE = "staff_pending"
PENDING_PURPOSE = "staff-second-factor"
PENDING_SECONDS = 300
_NOTHING_RESERVED = Reserved(())  # after the code: the password's attempt was refunded then


def code_route(services: Services) -> Route:
    """The sign-in's second step: like the sign-in page, open before there is a session."""
    return Route("/staff/login/code", partial(code_step, services), methods=["GET", "POST"])


def minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


# -- the end of a sign-in -----------------------------------------------------------------


async def signed_in(
    services: Services,
    request: Request,
    staff: Staff,
    target: str,
    *,
    reserved: Reserved = _NOTHING_RESERVED,
    passed: Passed | None = None,
) -> Response:
    """Signs `staff` in, after the password (whose `reserved` attempt is refunded) or after the
    code: the sign-in's own count is cleared, a new session begins on the server under a new
    key (so a new CSRF token: no session fixation), audited, and the browser is known for the
    account from now on."""
    attempt = await limits.attempt(services, request, staff.email)
    await limits.settle(services, attempt, reserved, succeeded=True)
    fresh = Session.new(staff)
    shown = passed.value if passed else None
    await services.database.write(partial(_record, staff=staff, session=fresh, shown=shown))
    response = RedirectResponse(target, status_code=303)
    await set_session(services, response, fresh)
    await limits.remember_device(services, response, staff)
    return response


async def _record(db: AsyncSession, *, staff: Staff, session: Session, shown: str | None) -> None:
    await staff_accounts.record_sign_in(db, staff=staff, second_factor=shown)
    await sessions.start(db, session)


# -- the pending sign-in ------------------------------------------------------------------


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
        PENDING_PURPOSE,
        pending.staff_id,
        pending.version,
        expires,
        nonce=session.csrf,
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


def forget_pending(services: Services, response: Response) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path="/staff/login", secure=_secure(services), httponly=True
    )


async def _pending(services: Services, request: Request, session: Session) -> Pending | None:
    raw = request.cookies.get(PENDING_COOKIE, "")
    try:
        claims = (await _signer(services)).claims(PENDING_PURPOSE, raw, now=datetime.now(UTC))
    except InvalidToken:
        return None
    if not hmac.compare_digest(claims.nonce, session.csrf):
        return None
    return Pending(claims.subject, claims.version)


# -- the code page ------------------------------------------------------------------------


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
    forget_pending(services, response)
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
    key = f"staff:{pending.staff_id}"
    async with services.database.sessionmaker() as db, db.begin():
        counted = await rate_limits.reserve(db, [(CODE_LIMIT, key)], now=utcnow())
    if isinstance(counted, rate_limits.Full):
        wait = minutes(counted.wait)
        return _code_page(services, request, session, status=429, error="limited", wait=wait)
    staff, passed = await _code_passes(services, pending, code, counted)
    if staff is None:
        return await _start_again(services, request, session)
    if passed is None:
        return _code_page(services, request, session, status=401, error="wrong")
    target = console_path(next_path)
    response = await signed_in(services, request, staff, target, passed=passed)
    forget_pending(services, response)
    return response


async def _code_passes(
    services: Services, pending: Pending, code: str, counted: Reserved
) -> tuple[Staff | None, Passed | None]:
    """Whom the pending sign-in is of (None once voided) and whether the code is theirs; the
    counted attempt is refunded when it is, and stays counted (committed) when it is not."""
    box = SecretBox(await services.keys.site())
    async with services.database.sessionmaker() as db, db.begin():
        staff = await db.get(Staff, pending.staff_id)
        if staff is None or not staff_accounts.session_is_current(staff, pending.version):
            await rate_limits.refund(db, counted)  # no code was checked
            return None, None
        passed = await second_factor.check(db, staff=staff, code=code, box=box, now=utcnow())
        if passed is not None:
            await rate_limits.refund(db, counted)
            await CODE_LIMIT.clear(db, f"staff:{staff.id}")
    return staff, passed
