"""The console's second factor: enrolment, the check at sign-in (a TOTP code or a recovery
code, each accepted once), removal, an admin's reset, and the audit of each and of every
failed code. The caller owns the transaction, and commits it after a failed check too, so
the failure's audit row stays."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common import audit
from incidents.common.errors import N_, Conflict, NotFound
from incidents.common.staff import RecoveryCode, SecondFactor, Staff, StaffRole
from statuspage.access import staff_accounts
from statuspage.access.totp import SecretBox, Unsealable, is_code, matching_step

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # 5 bits a character
_LOOKALIKES = str.maketrans("01", "ol")
_RECOVERY_LENGTH = 16  # 80 bits: beyond guessing, and one SHA-256 keeps it safe at rest


class Passed(enum.StrEnum):
    """How a second factor was shown."""

    totp = "totp"
    recovery = "recovery"


def required(role: StaffRole, roles: frozenset[StaffRole]) -> bool:
    """Whether someone of `role` must have a second factor (`roles`: STAFF_2FA_ROLES)."""
    return role in roles


def _secret_context(staff_id: int) -> str:
    return f"staff:{staff_id}"


# -- recovery codes -----------------------------------------------------------------------


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[index : index + 4] for index in range(0, _RECOVERY_LENGTH, 4))


def _normal_recovery_code(text: str) -> str | None:
    """The code without its dashes and spaces, lower case, a 0 or 1 read as the o or l it
    looks like (base32 has neither digit); None when it cannot be one."""
    plain = "".join(text.split()).replace("-", "").lower().translate(_LOOKALIKES)
    if len(plain) != _RECOVERY_LENGTH or not all(c in _RECOVERY_ALPHABET for c in plain):
        return None
    return plain


def recovery_digest(code: str) -> str:
    plain = _normal_recovery_code(code)
    if plain is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(plain.encode()).hexdigest()


async def _replace_recovery_codes(session: AsyncSession, *, staff_id: int) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(staff_id=staff_id, digest=recovery_digest(code)) for code in codes)
    await session.flush()
    return codes


async def recovery_codes_left(session: AsyncSession, *, staff_id: int) -> int:
    query = select(func.count()).where(
        RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


# -- the factor ---------------------------------------------------------------------------


async def find(session: AsyncSession, *, staff_id: int) -> SecondFactor | None:
    return await session.get(SecondFactor, staff_id)


async def enrolled_ids(session: AsyncSession) -> set[int]:
    """The staff members who have a second factor."""
    return set((await session.scalars(select(SecondFactor.staff_id))).all())


async def enrol(
    session: AsyncSession,
    *,
    staff: Staff,
    secret: str,
    step: int,
    box: SecretBox,
    keep_session: str = "",
) -> list[str]:
    """Keeps the authenticator whose code of `step` the person just typed (so that code is
    not accepted again) and returns the ten recovery codes, the only time they are shown.
    Signs the person out of their other sessions (made without this factor): all but the
    one of key `keep_session`."""
    if await find(session, staff_id=staff.id) is not None:
        raise Conflict(N_("you already have a second factor: remove it first"), field="code")
    sealed = box.seal(secret, context=_secret_context(staff.id))
    session.add(SecondFactor(staff_id=staff.id, secret=sealed, last_step=step))
    codes = await _replace_recovery_codes(session, staff_id=staff.id)
    await staff_accounts.sign_out(session, staff, keep=keep_session)
    await _record(session, staff.id, "staff.second_factor.enrol", actor_id=staff.id)
    return codes


async def check(
    session: AsyncSession, *, staff: Staff, code: str, box: SecretBox, now: datetime
) -> Passed | None:
    """Whether `code` (a TOTP code or an unused recovery code) is this person's second factor
    now; each is accepted once, even when two requests race. A failure is audited."""
    code = "".join(code.split())
    factor = await find(session, staff_id=staff.id)
    passed, kind = None, "recovery" if _normal_recovery_code(code) is not None else "totp"
    try:
        if factor is not None and is_code(code):
            passed = await _check_totp(session, factor, code, box, now)
        elif factor is not None and kind == "recovery":
            passed = await _check_recovery_code(session, staff, code, now)
    except Unsealable:  # SECRET_KEY changed since enrolment: recovery codes still work
        kind = "unreadable"
    if passed is None:
        await _record(session, staff.id, "staff.second_factor.failed", after={"kind": kind})
    return passed


async def _check_totp(
    session: AsyncSession, factor: SecondFactor, code: str, box: SecretBox, now: datetime
) -> Passed | None:
    secret = box.open(factor.secret, context=_secret_context(factor.staff_id))
    step = matching_step(secret, code, now=now, after=factor.last_step)
    if step is None or not await _claim_step(session, factor.staff_id, step):
        return None
    return Passed.totp


async def _check_recovery_code(
    session: AsyncSession, staff: Staff, code: str, now: datetime
) -> Passed | None:
    if not await _claim_recovery_code(session, staff.id, code, now):
        return None
    left = await recovery_codes_left(session, staff_id=staff.id)
    await _record(
        session,
        staff.id,
        "staff.second_factor.recovery_used",
        actor_id=staff.id,
        after={"left": left},
    )
    return Passed.recovery


async def _claim_step(session: AsyncSession, staff_id: int, step: int) -> bool:
    """Moves `last_step` on to `step` unless another request got there first."""
    claimed = await session.execute(
        update(SecondFactor)
        .where(SecondFactor.staff_id == staff_id, SecondFactor.last_step < step)
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(claimed) == 1


async def _claim_recovery_code(
    session: AsyncSession, staff_id: int, code: str, now: datetime
) -> bool:
    used = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == staff_id,
            RecoveryCode.digest == recovery_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(used) == 1


async def new_recovery_codes(session: AsyncSession, *, staff: Staff) -> list[str]:
    """Ten new recovery codes in place of the old ones (the caller checked a code first)."""
    if await find(session, staff_id=staff.id) is None:
        raise NotFound(N_("you have no second factor"), field="code")
    codes = await _replace_recovery_codes(session, staff_id=staff.id)
    await _record(session, staff.id, "staff.second_factor.recovery_codes", actor_id=staff.id)
    return codes


async def remove(session: AsyncSession, *, staff: Staff, keep_session: str = "") -> None:
    """The person's own removal (the caller checked a code first); signs out their other
    sessions (all but the one of key `keep_session`)."""
    if not await _drop(session, staff.id):
        raise NotFound(N_("you have no second factor"), field="code")
    await staff_accounts.sign_out(session, staff, keep=keep_session)
    await _record(session, staff.id, "staff.second_factor.remove", actor_id=staff.id)


async def reset(session: AsyncSession, *, staff_id: int, actor_id: int) -> Staff:
    """An admin takes a colleague's second factor away (a lost phone): the colleague is signed
    out everywhere and enrols again at their next sign-in."""
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(
            N_("staff member %(staff_id)s does not exist"), field="staff_id", staff_id=staff_id
        )
    if staff.id == actor_id:
        raise Conflict(
            N_("replace your own second factor on your second-factor page (it asks for a code)"),
            field="second_factor",
        )
    if not await _drop(session, staff.id):
        raise Conflict(
            N_("%(email)s has no second factor"), field="second_factor", email=staff.email
        )
    await staff_accounts.sign_out(session, staff)
    await _record(session, staff.id, "staff.second_factor.reset", actor_id=actor_id)
    return staff


async def reset_by_operator(session: AsyncSession, *, staff: Staff) -> bool:
    """The command line's reset (every admin locked out): no actor in the audit row."""
    dropped = await _drop(session, staff.id)
    if dropped:
        await staff_accounts.sign_out(session, staff)
        await _record(session, staff.id, "staff.second_factor.reset", actor_id=None)
    return dropped


async def _drop(session: AsyncSession, staff_id: int) -> bool:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
    dropped = await session.execute(delete(SecondFactor).where(SecondFactor.staff_id == staff_id))
    return _rowcount(dropped) == 1


async def _record(
    session: AsyncSession,
    staff_id: int,
    action: str,
    *,
    actor_id: int | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        actor_id=actor_id,
        action=action,
        entity_type="staff",
        entity_id=staff_id,
        after=after,
    )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
