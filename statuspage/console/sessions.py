"""The console's session cookie, and who a live session is of.

The cookie is a Signer token of its own purpose (no subscriber's email link reads as a
session, and no session as a link) carrying a random key; once signed in, the server keeps
the key's digest (`access.staff_sessions`), so a session lives only while its row does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from incidents.common.staff import Staff, StaffRole
from statuspage.access import staff_accounts, staff_sessions
from statuspage.access.signing import InvalidToken, Signer
from statuspage.services import Services

COOKIE = "staff_session"
SESSION_SECONDS = 12 * 3600  # a shift; then sign in again
SESSION_LIFETIME = timedelta(seconds=SESSION_SECONDS)
SESSION_PURPOSE = "staff-session"


@dataclass(frozen=True)
class Session:
    staff_id: int  # 0 before sign-in: the cookie then only carries the CSRF token's key
    version: int
    # Random; once signed in, the server keeps its digest (`access.staff_sessions`).
    key: str
    issued: int

    @property
    def csrf(self) -> str:
        """The forms' token, made from the key: a page shows it without giving the key away."""
        mac = hmac.new(self.key.encode(), b"staff-csrf", hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode()

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.issued + SESSION_SECONDS, UTC)

    @classmethod
    def anonymous(cls) -> Session:
        return cls(0, 0, staff_sessions.new_key(), int(time.time()))

    @classmethod
    def new(cls, staff: Staff) -> Session:
        """A signed-in session under a new key (so a new CSRF token: no session fixation);
        `start` records it on the server."""
        return cls(staff.id, staff.session_version, staff_sessions.new_key(), int(time.time()))


async def start(db: AsyncSession, session: Session) -> None:
    """Records a signed-in `session` on the server: from now on its cookie signs in."""
    created_at = datetime.fromtimestamp(session.issued, UTC)
    await staff_sessions.start(
        db,
        staff_id=session.staff_id,
        key=session.key,
        created_at=created_at,
        lasts=SESSION_LIFETIME,
    )


async def _signer(services: Services) -> Signer:
    return Signer(await services.keys.site())


async def read_session(services: Services, request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 512:
        return None
    try:
        claims = (await _signer(services)).claims(SESSION_PURPOSE, raw, now=datetime.now(UTC))
    except InvalidToken:  # tampered, another purpose's token, another key, or expired
        return None
    if not claims.nonce or not claims.expires:
        return None
    issued = claims.expires - SESSION_SECONDS
    return Session(claims.subject, claims.version, claims.nonce, issued)


async def set_session(services: Services, response: Response, session: Session | None) -> None:
    """Writes (or, with None, clears) the cookie: HttpOnly, SameSite=Lax, scoped to /staff."""
    secure = services.settings.public_url.startswith("https://")
    if session is None:
        response.delete_cookie(COOKIE, path="/staff", secure=secure, httponly=True)
        return
    value = (await _signer(services)).make(
        SESSION_PURPOSE, session.staff_id, session.version, session.expires, nonce=session.key
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/staff",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


# -- who is signed in ---------------------------------------------------------------------


@dataclass(frozen=True)
class Staffer:
    id: int
    email: str
    name: str
    role: StaffRole
    has_second_factor: bool = False
    needs_second_factor: bool = False  # the role needs one (STAFF_2FA_ROLES)
    language: str | None = None  # the console's language they chose (None: their browser's)

    def can(self, roles: frozenset[StaffRole]) -> bool:
        return self.role == StaffRole.admin or self.role in roles


async def live_staff(db: AsyncSession, session: Session) -> Staff | None:
    """Who the session is of, while it is live on the server (not signed out, not ended by a
    new password, a second factor's change or deactivation) and the account may still use
    the console."""
    if session.staff_id == 0:
        return None
    staff = await staff_sessions.staff_of(
        db, key=session.key, staff_id=session.staff_id, now=datetime.now(UTC)
    )
    return staff if staff_accounts.session_is_current(staff, session.version) else None


async def signed_in_staff(services: Services, session: Session) -> Staff | None:
    async with services.database.reading() as db:
        return await live_staff(db, session)
