"""Staff authentication: API tokens (hashed at rest) and role checks."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common import audit
from incidents.common.db_types import utcnow
from incidents.common.errors import N_, Conflict, DomainError, NotFound
from incidents.common.staff import ApiToken, Staff, StaffRole
from incidents.schemas import unsafe_character

TOKEN_PREFIX = "sp_"  # noqa: S105 - a prefix, not a secret
_LAST_USED_GRANULARITY = timedelta(minutes=5)


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    staff_id: int
    email: str
    role: StaffRole
    token_id: int | None


def token_digest(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is enough to keep them safe at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_staff(
    session: AsyncSession, *, email: str, name: str, role: StaffRole, actor_id: int | None
) -> Staff:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or unsafe_character(email) is not None:
        raise DomainError(N_("%(email)r is not an email address"), field="email", email=email)
    if unsafe_character(name) is not None:
        raise DomainError(N_("must be one line without control characters"), field="name")
    if await session.scalar(select(Staff).where(Staff.email == email)):
        raise Conflict(
            N_("a staff account for %(email)s already exists"), field="email", email=email
        )
    staff = Staff(email=email, name=name, role=role)
    session.add(staff)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="staff.create",
        entity_type="staff",
        entity_id=staff.id,
        after={"email": email, "name": name, "role": role.value},
    )
    return staff


async def find_staff(session: AsyncSession, *, email: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise NotFound(N_("no staff account for %(email)s"), field="email", email=email)
    return staff


async def create_token(
    session: AsyncSession, *, staff: Staff, name: str, actor_id: int | None
) -> tuple[ApiToken, str]:
    """A new token; the plain text is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(staff_id=staff.id, name=name, prefix=plain[:10], digest=token_digest(plain))
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="token.create",
        entity_type="api_token",
        entity_id=token.id,
        after={"staff_id": staff.id, "name": name, "prefix": token.prefix},
    )
    return token, plain


async def authenticate(session: AsyncSession, *, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthenticated("an API token is required: send `Authorization: Bearer <token>`")
    scheme, _, plain = authorization.partition(" ")
    if scheme.lower() != "bearer" or not plain.strip().startswith(TOKEN_PREFIX):
        raise Unauthenticated("the Authorization header must be `Bearer <token>`")
    row = await session.execute(
        select(ApiToken, Staff)
        .join(Staff, Staff.id == ApiToken.staff_id)
        .where(ApiToken.digest == token_digest(plain.strip()))
    )
    found = row.first()
    if found is None:
        raise Unauthenticated("this API token is not valid")
    token, staff = found
    if token.revoked_at is not None or not staff.active:
        raise Unauthenticated("this API token has been revoked")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
        token.last_used_at = now
    return Principal(staff_id=staff.id, email=staff.email, role=staff.role, token_id=token.id)


def require_role(principal: Principal, roles: frozenset[StaffRole]) -> None:
    """Admins may do everything; everyone else needs one of the route's roles."""
    if principal.role == StaffRole.admin or principal.role in roles:
        return
    allowed = " or ".join(sorted(role.value for role in roles))
    raise Forbidden(f"this action needs the {allowed} role; you are {principal.role.value}")
