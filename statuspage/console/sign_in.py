"""Console sign-in (check the limits, verify the password, then either start the session or,
for someone with a second factor, ask for the code: `sign_in_code`), sign-out and password
change; the limits are in `sign_in_limits`."""

from __future__ import annotations

import dataclasses
import math
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from incidents.common.db_types import utcnow
from incidents.common.staff import ANY_STAFF, Staff
from statuspage.access import rate_limits, second_factor, staff_accounts, staff_sessions
from statuspage.console import sign_in_limits as limits
from statuspage.console.kit import Console, Page, console_path, page, route
from statuspage.console.posted import FormError, Refused, check_csrf, read_form
from statuspage.console.sessions import Session, read_session, set_session, signed_in_staff
from statuspage.console.sign_in_code import Pending, ask_for_code, forget_pending, signed_in
from statuspage.services import Services

_next = console_path  # only a console path: never an open redirect to another site


async def _login_page(
    services: Services, request: Request, session: Session, *, status: int = 200, **values: object
) -> Response:
    response = page(
        services.settings,
        request,
        "login.html",
        status=status,
        csrf=session.csrf,
        next=_next(request.query_params.get("next", "")),
        **values,
    )
    await set_session(services, response, session)
    return response


def login_route(services: Services) -> Route:
    """The sign-in page: the one console page for people not signed in."""
    return Route("/staff/login", partial(login, services), methods=["GET", "POST"])


def routes() -> list[Page]:
    return [
        route("/logout", logout, ANY_STAFF, methods=["POST"], enrolling=True),
        route("/password", password, ANY_STAFF, methods=["GET", "POST"]),
    ]


async def login(services: Services, request: Request) -> Response:
    session = await read_session(services, request)
    if request.method == "GET":
        if session is not None and session.staff_id:
            if await signed_in_staff(services, session) is not None:
                return RedirectResponse("/staff/", status_code=303)
            session = None  # signed out (here or elsewhere): start afresh
        return await _login_page(services, request, session or Session.anonymous())
    return await _sign_in(services, request, session)


async def _sign_in(services: Services, request: Request, session: Session | None) -> Response:
    try:
        form = await read_form(request)
    except FormError as too_large:
        return page(
            services.settings,
            request,
            "refused.html",
            status=too_large.status,
            reason=str(too_large),
        )
    except Refused as refused:  # not a form at all
        return page(services.settings, request, "refused.html", status=403, reason=refused.reason)
    if session is None:  # no cookie from the sign-in page: cookies off, or it expired
        return await _login_page(
            services, request, Session.anonymous(), status=403, error="expired"
        )
    try:
        check_csrf(session, form)
    except Refused:
        return await _login_page(services, request, session, status=403, error="expired")
    email = str(form.get("email", "")).strip().lower()[:254]
    attempt = await limits.attempt(services, request, email)
    counted = await limits.check(services, attempt)
    if isinstance(counted, rate_limits.Full):
        minutes = max(1, math.ceil(counted.wait / 60))  # never sooner than it opens
        error = limits.LIMITED[counted.window.bucket]
        return await _login_page(
            services, request, session, status=429, error=error, wait=minutes, email=email
        )
    staff = await _verify_password(services, email, str(form.get("password", "")))
    if staff is None:  # the failure stays counted
        return await _login_page(services, request, session, status=401, error="wrong", email=email)
    target = _next(str(form.get("next", "")))
    async with services.database.reading() as db:
        enrolled = await second_factor.find(db, staff_id=staff.id) is not None
    if enrolled:  # the password was right; the rest of the sign-in waits for the code
        await limits.refund(services, counted)
        pending = Pending(staff.id, staff.session_version)
        return await ask_for_code(services, pending, session, target)
    return await signed_in(services, request, staff, target, reserved=counted)


async def _verify_password(services: Services, email: str, password: str) -> Staff | None:
    """The console user whose password this is; no write transaction is held meanwhile."""
    database = services.database
    async with database.reading() as db:
        staff = await staff_accounts.check_password(db, email=email, password=password)
    if staff is not None and staff_accounts.needs_rehash(staff):
        await database.write(
            partial(staff_accounts.upgrade_hash, staff_id=staff.id, password=password)
        )
    return staff


async def logout(console: Console) -> Response:
    """Ends the session on the server too: the cookie, replayed, signs in nobody."""
    ended = partial(staff_sessions.end, key=console.session.key, now=utcnow())
    await console.database.write(ended)
    response = RedirectResponse("/staff/login?done=signed_out", status_code=303)
    await set_session(console.services, response, None)
    forget_pending(console.services, response)  # a sign-in begun meanwhile ends with it
    return response


async def password(console: Console) -> Response:
    if console.request.method == "GET":
        return console.render("password.html")
    current, new = console.field("current"), console.form.get("new", "")
    try:
        if str(new) != str(console.form.get("confirm", "")):
            raise FormError({"confirm": console.say("the two new passwords differ")})
        staff = await console.write(lambda db: _change(db, console, current, str(new)))
    except FormError as error:
        return console.render("password.html", status=error.status, errors=error.errors)
    response = console.redirect("/staff/", done="password_changed")
    # This session stays signed in (the others ended), with the account's new version.
    kept = dataclasses.replace(console.session, version=staff.session_version)
    await set_session(console.services, response, kept)
    await limits.remember_device(console.services, response, staff)  # and this browser known
    return response


async def _change(db: AsyncSession, console: Console, current: str, new: str) -> Staff:
    staff = await staff_accounts.get_staff(db, staff_id=console.staffer.id)
    if not staff_accounts.password_matches(staff, current):
        raise FormError({"current": console.say("this is not your current password")}, status=400)
    staff_accounts.check_password_rules(new, field="new")
    return await staff_accounts.set_password(
        db,
        staff_id=staff.id,
        password=new,
        actor_id=console.staffer.id,
        keep_session=console.session.key,
    )
