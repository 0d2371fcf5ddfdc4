"""The people who act on incidents and money, the API tokens they act with, and the second
factor (TOTP and recovery codes) they sign in to the console with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.common.db_types import Base, checked_enum, utcnow
from incidents.common.roles import (
    ADMIN,
    ANY_STAFF,
    FINANCE,
    FINANCE_OR_PLATFORM,
    SUPPORT,
    StaffRole,
)

# The roles live in roles.py (importable without SQLAlchemy); they are named here too, beside
# the tables they are stored in.
__all__ = [
    "ADMIN",
    "ANY_STAFF",
    "FINANCE",
    "FINANCE_OR_PLATFORM",
    "SUPPORT",
    "ApiToken",
    "RecoveryCode",
    "SecondFactor",
    "Staff",
    "StaffRole",
]


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(checked_enum(StaffRole))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The console's sign-in: an argon2 hash (None: no password, API tokens only), and a
    # counter in every session cookie; bumping it signs the person out everywhere.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The console's language they chose (`en`, `zh-CN`); None follows their browser.
    language: Mapped[str | None] = mapped_column(String(8), default=None)


class ApiToken(Base):
    """A bearer token: only its SHA-256 digest is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    staff: Mapped[Staff] = relationship()


class SecondFactor(Base):
    """A staff member's TOTP authenticator (RFC 6238), one at most. The secret is kept
    encrypted under a key derived from the site key (statuspage/access/second_factor.py);
    `last_step` is the newest time step a code was accepted for, so none is accepted twice."""

    __tablename__ = "staff_second_factors"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(255))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_step: Mapped[int] = mapped_column(Integer)


class RecoveryCode(Base):
    """One of the ten codes shown once at enrolment, each good for one sign-in without the
    authenticator: only its SHA-256 digest is kept (the codes carry 80 random bits)."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (UniqueConstraint("staff_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
