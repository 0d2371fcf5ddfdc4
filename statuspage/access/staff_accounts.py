"""Staff accounts for the console: argon2 passwords, roles, deactivation and token revocation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents.common import audit
from incidents.common.db_types import utcnow
from incidents.common.errors import N_, Conflict, DomainError, NotFound
from incidents.common.staff import ApiToken, Staff, StaffRole
from incidents.schemas import unsafe_character
from statuspage.access import staff_sessions

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_hasher = PasswordHasher()
# Checked when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")
# Sign-in checks run beside the event loop, two at a time (each takes 64 MiB and a core for
# tens of milliseconds): pages are still served, and transactions still commit, meanwhile.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check")


def check_password_rules(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            N_("a password needs at least %(least)s characters"), field=field, least=MIN_PASSWORD
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(
            N_("a password may have at most %(most)s characters"), field=field, most=MAX_PASSWORD
        )


class TokenOnly(DomainError):
    """The platform role is a service account: API tokens only, never the console."""

    def __init__(self) -> None:
        super().__init__(
            "a platform account has no password: it uses API tokens only", field="password"
        )


def may_use_console(staff: Staff | None) -> bool:
    return staff is not None and staff.active and staff.role != StaffRole.platform


def session_is_current(staff: Staff | None, version: int) -> bool:
    """Whether a console session of `version` still stands for this staff member."""
    return may_use_console(staff) and staff is not None and staff.session_version == version


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def password_matches(staff: Staff | None, password: str) -> bool:
    """Whether `password` is the active console user's; as slow for an unknown account
    or a token-only (platform) one."""
    stored = staff.password_hash if staff is not None and may_use_console(staff) else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def check_password(session: AsyncSession, *, email: str, password: str) -> Staff | None:
    """The active console user `email` names, when `password` is theirs; as slow for an
    unknown account. Only reads, and hashes in a thread: the slow hash holds no write lock
    and does not stop the event loop."""
    email = email.strip().lower()
    # An address no account can have is not looked up (PostgreSQL cannot even compare a NUL),
    # and is checked against the dummy hash, as slowly as any unknown account.
    found = unsafe_character(email) is None
    staff = await session.scalar(select(Staff).where(Staff.email == email)) if found else None
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(_HASHING, password_matches, staff, password):
        return None
    return staff


def needs_rehash(staff: Staff) -> bool:
    """Whether the stored hash was made with older argon2 parameters than today's."""
    return staff.password_hash is not None and _hasher.check_needs_rehash(staff.password_hash)


async def upgrade_hash(session: AsyncSession, *, staff_id: int, password: str) -> None:
    """Hashes the (just checked) password again with today's parameters."""
    staff = await get_staff(session, staff_id=staff_id)
    staff.password_hash = _hasher.hash(password)


async def record_sign_in(
    session: AsyncSession, *, staff: Staff, second_factor: str | None = None
) -> None:
    """A sign-in is recorded when its session begins: after the code, for someone with a
    second factor (`second_factor` says which kind was shown)."""
    await audit.record(
        session,
        actor_id=staff.id,
        action="staff.sign_in",
        entity_type="staff",
        entity_id=staff.id,
        after={"second_factor": second_factor} if second_factor else None,
    )


async def set_password(
    session: AsyncSession,
    *,
    staff_id: int,
    password: str,
    actor_id: int | None,
    keep_session: str = "",
) -> Staff:
    """Sets the password and signs the person out of every session but `keep_session` (the
    key of the one they changed it in)."""
    staff = await get_staff(session, staff_id=staff_id)
    if staff.role == StaffRole.platform:
        raise TokenOnly
    staff.password_hash = hash_password(password)
    await sign_out(session, staff, keep=keep_session)
    await audit.record(
        session,
        actor_id=actor_id,
        action="staff.password",
        entity_type="staff",
        entity_id=staff.id,
    )
    return staff


async def sign_out(session: AsyncSession, staff: Staff, *, keep: str = "") -> None:
    """Ends the person's console sessions (but `keep`), and with the new session version
    every session cookie and known-browser cookie made before."""
    staff.session_version += 1
    await staff_sessions.end_all(session, staff_id=staff.id, now=utcnow(), keep=keep)


async def get_staff(session: AsyncSession, *, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(
            N_("staff member %(staff_id)s does not exist"), field="staff_id", staff_id=staff_id
        )
    return staff


async def list_staff(session: AsyncSession) -> Sequence[Staff]:
    return (await session.scalars(select(Staff).order_by(Staff.email))).all()


async def change_role(
    session: AsyncSession, *, staff_id: int, role: StaffRole, actor_id: int
) -> Staff:
    staff = await get_staff(session, staff_id=staff_id)
    if staff.id == actor_id and role != StaffRole.admin:
        raise Conflict(N_("you cannot take the admin role from yourself"), field="role")
    before = {"role": staff.role.value}
    staff.role = role
    if role == StaffRole.platform:  # token-only from now on: no password, no open session
        staff.password_hash = None
        await sign_out(session, staff)
    await audit.record(
        session,
        actor_id=actor_id,
        action="staff.role",
        entity_type="staff",
        entity_id=staff.id,
        before=before,
        after={"role": role.value},
    )
    return staff


async def set_active(session: AsyncSession, *, staff_id: int, active: bool, actor_id: int) -> Staff:
    """Deactivating signs the person out and stops their API tokens at once."""
    staff = await get_staff(session, staff_id=staff_id)
    if staff.id == actor_id and not active:
        raise Conflict(N_("you cannot deactivate yourself"), field="active")
    staff.active = active
    await sign_out(session, staff)
    await audit.record(
        session,
        actor_id=actor_id,
        action="staff.activate" if active else "staff.deactivate",
        entity_type="staff",
        entity_id=staff.id,
    )
    return staff


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    query = (
        select(ApiToken)
        .join(Staff)
        .options(selectinload(ApiToken.staff))
        .order_by(ApiToken.id.desc())
    )
    return (await session.scalars(query)).all()


async def revoke_token(session: AsyncSession, *, token_id: int, actor_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(N_("token %(token_id)s does not exist"), field="token_id", token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await audit.record(
            session,
            actor_id=actor_id,
            action="token.revoke",
            entity_type="api_token",
            entity_id=token.id,
            after={"prefix": token.prefix},
        )
    return token
