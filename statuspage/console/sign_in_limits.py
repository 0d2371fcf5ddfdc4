"""The limits on console sign-in, and the browsers they do not lock out.

Failures are counted per email from one client address, per client address whatever the
email (one password tried on many accounts), and per email from anywhere (guesses spread over
many addresses); in the database, so across every instance, and reserved before the password
is checked (`rate_limits.reserve`), so concurrent guesses cannot slip past the count.

The per-address and per-email counts can be filled by anyone, so they would let an attacker
keep staff out. A browser that has signed in to an account before is therefore known for it
(the `staff_device` cookie, a signed token naming the account and its session version) and is
limited on its own count only: failures from others, for made-up emails or the account's own,
never lock it out. The exemption depends on a cookie only a past sign-in could give, never on
whether the email is an account's, so the limits tell nobody which emails are staff.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from incidents.common.db_types import utcnow
from incidents.common.staff import Staff
from statuspage.access import rate_limits, staff_accounts
from statuspage.access.client_address import client_address
from statuspage.access.rate_limits import Window
from statuspage.access.signing import InvalidToken, Signer
from statuspage.services import Services

# Failures in 15 minutes: per email from one address, per address, per email from anywhere
# (two addresses' worth), and per known browser.
LOGIN_LIMIT = Window("sign_in_email", 5, 900.0)
ADDRESS_LIMIT = Window("sign_in_address", 30, 900.0)
ACCOUNT_LIMIT = Window("sign_in_account", 10, 900.0)
DEVICE_LIMIT = Window("sign_in_device", 5, 900.0)
# The sign-in page's message for each full window.
LIMITED = {
    LOGIN_LIMIT.bucket: "limited",
    ADDRESS_LIMIT.bucket: "limited_address",
    ACCOUNT_LIMIT.bucket: "limited_account",
    DEVICE_LIMIT.bucket: "limited_device",
}

DEVICE_COOKIE = "staff_device"
DEVICE_PURPOSE = "staff-device"
DEVICE_SECONDS = 90 * 86400  # signing in again renews it


@dataclass(frozen=True)
class Attempt:
    """Who tries to sign in as which account, as the limits count it."""

    email: str
    client: str
    device: str  # a known browser's key when its cookie names this email's account, else ""

    @property
    def pair(self) -> str:
        return f"{self.client} {self.email}"  # an address holds no space

    def counted(self) -> list[tuple[Window, str]]:
        if self.device:
            return [(DEVICE_LIMIT, self.device)]
        return [(ADDRESS_LIMIT, self.client), (LOGIN_LIMIT, self.pair), (ACCOUNT_LIMIT, self.email)]


async def attempt(services: Services, request: Request, email: str) -> Attempt:
    client = client_address(request, services.settings)
    device = await _known_device(services, request, email)
    return Attempt(email, client, device)


async def check(services: Services, attempt: Attempt) -> rate_limits.Reserved | rate_limits.Full:
    """Counts this attempt as a failure before the password is checked; `settle` refunds it
    if it succeeds."""
    async with services.database.sessionmaker() as db, db.begin():
        return await rate_limits.reserve(db, attempt.counted(), now=utcnow())


async def settle(
    services: Services, attempt: Attempt, reserved: rate_limits.Reserved, *, succeeded: bool
) -> None:
    """A failure stays counted; a success is refunded and clears its own count (the pair's,
    or the known browser's), not the address's or the account's: one good sign-in must not
    reset what others' guesses added up."""
    if not succeeded:
        return
    async with services.database.sessionmaker() as db, db.begin():
        await rate_limits.refund(db, reserved)
        if attempt.device:
            await DEVICE_LIMIT.clear(db, attempt.device)
        else:
            await LOGIN_LIMIT.clear(db, attempt.pair)


async def refund(services: Services, reserved: rate_limits.Reserved) -> None:
    """Takes back a right password's attempt while its second factor's code is still to come:
    the counts are cleared, and the browser known, only once the code is right too."""
    async with services.database.sessionmaker() as db, db.begin():
        await rate_limits.refund(db, reserved)


async def remember_device(services: Services, response: Response, staff: Staff) -> None:
    """Makes this browser known for `staff` (after a complete sign-in, or a password change)."""
    expires = datetime.now(UTC) + timedelta(seconds=DEVICE_SECONDS)
    token = (await _signer(services)).make(
        DEVICE_PURPOSE, staff.id, staff.session_version, expires, nonce=secrets.token_urlsafe(24)
    )
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_SECONDS,
        path="/staff/login",
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


async def _known_device(services: Services, request: Request, email: str) -> str:
    """The browser's key when its cookie names the account `email` is, at its current
    session version (a new password, deactivation or a role change ends it); else ""."""
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw or len(raw) > 512:
        return ""
    try:
        claims = (await _signer(services)).claims(DEVICE_PURPOSE, raw, now=datetime.now(UTC))
    except InvalidToken:
        return ""
    async with services.database.reading() as db:
        staff = await db.get(Staff, claims.subject)
    known = staff_accounts.session_is_current(staff, claims.version)
    if not known or staff is None or staff.email != email or not claims.nonce:
        return ""
    return claims.nonce


async def _signer(services: Services) -> Signer:
    return Signer(await services.keys.site())
