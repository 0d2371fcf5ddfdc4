"""The second factor at rest and at sign-in: sealed secrets and hashed recovery codes, each
code accepted once, removal and an admin's reset, and the audit of each and of every failure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.errors import Conflict, NotFound
from incidents.common.staff import RecoveryCode, SecondFactor, Staff, StaffRole
from statuspage.access import second_factor
from statuspage.access import tokens as auth
from statuspage.access.second_factor import Passed
from statuspage.access.totp import SecretBox, code_at, new_secret, step_at
from statuspage.config import Settings, SettingsError
from statuspage.db import Database

NOW = datetime(2026, 12, 3, 10, 0, 15, tzinfo=UTC)
BOX = SecretBox(b"s" * 32)


async def _staff(database: Database, email: str = "omar@example.com") -> int:
    async with database.sessionmaker() as session, session.begin():
        staff = await auth.create_staff(
            session, email=email, name="Omar", role=StaffRole.finance, actor_id=None
        )
        return staff.id


async def _enrolled(database: Database, secret: str) -> tuple[int, list[str]]:
    staff_id = await _staff(database)
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        codes = await second_factor.enrol(
            session, staff=staff, secret=secret, step=step_at(NOW) - 5, box=BOX
        )
    return staff_id, codes


async def _check(
    database: Database, staff_id: int, code: str, now: datetime = NOW
) -> Passed | None:
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        return await second_factor.check(session, staff=staff, code=code, box=BOX, now=now)


async def _actions(database: Database) -> list[tuple[str, int | None, dict[str, object] | None]]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.after)
            .where(AuditEntry.action.startswith("staff.second_factor"))
            .order_by(AuditEntry.id)
        )
        return [(action, actor, after) for action, actor, after in rows]


async def test_enrolment_keeps_the_secret_sealed_and_only_digests_of_the_codes(
    database: Database,
) -> None:
    secret = new_secret()
    staff_id, codes = await _enrolled(database, secret)
    assert len(codes) == 10 == len(set(codes))
    assert all(len(code) == 19 and code.count("-") == 3 for code in codes)
    async with database.sessionmaker() as session:
        factor = await session.get(SecondFactor, staff_id)
        stored = list(await session.scalars(select(RecoveryCode.digest)))
        staff = await session.get(Staff, staff_id)
    assert factor is not None and staff is not None
    assert secret not in factor.secret
    assert BOX.open(factor.secret, context=f"staff:{staff_id}") == secret
    plain = [code.replace("-", "") for code in codes]
    assert sorted(stored) == sorted(hashlib.sha256(code.encode()).hexdigest() for code in plain)
    assert staff.session_version == 1  # enrolment signed the other sessions out
    assert await _actions(database) == [("staff.second_factor.enrol", staff_id, None)]


async def test_enrolling_twice_is_refused(database: Database) -> None:
    staff_id, _ = await _enrolled(database, new_secret())
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        with pytest.raises(Conflict, match="you already have a second factor"):
            await second_factor.enrol(session, staff=staff, secret=new_secret(), step=0, box=BOX)


async def test_a_code_is_accepted_once_and_never_an_older_one_after(database: Database) -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # fixed, so the wrong code below is wrong
    staff_id, _ = await _enrolled(database, secret)
    now = step_at(NOW)
    assert "000000" not in {code_at(secret, step) for step in range(now - 1, now + 2)}
    assert await _check(database, staff_id, code_at(secret, now)) == Passed.totp
    assert await _check(database, staff_id, code_at(secret, now)) is None  # replayed
    assert await _check(database, staff_id, code_at(secret, now + 1)) == Passed.totp
    assert await _check(database, staff_id, code_at(secret, now - 1)) is None  # older
    assert await _check(database, staff_id, "000000") is None
    later = NOW + timedelta(seconds=60)
    assert await _check(database, staff_id, code_at(secret, now + 2), later) == Passed.totp
    assert [action for action, _, _ in await _actions(database)] == [
        "staff.second_factor.enrol",
        "staff.second_factor.failed",
        "staff.second_factor.failed",
        "staff.second_factor.failed",
    ]
    failures = [entry for entry in await _actions(database) if entry[0].endswith("failed")]
    assert {after["kind"] for _, _, after in failures if after} == {"totp"}
    assert all(actor is None for _, actor, _ in failures)  # nobody proved who they are


async def test_a_stale_read_cannot_accept_the_same_step_twice(database: Database) -> None:
    """Two sign-ins racing with one code: the step is claimed in the database, not in the
    row each of them read, so the second one is refused."""
    secret = new_secret()
    staff_id, _ = await _enrolled(database, secret)
    code = code_at(secret, step_at(NOW))
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        held = await session.get(SecondFactor, staff_id)  # read before the other one's claim
        assert staff is not None and held is not None
        first = await second_factor.check(session, staff=staff, code=code, box=BOX, now=NOW)
        assert held.last_step < step_at(NOW)  # still what both requests read
        again = await second_factor.check(session, staff=staff, code=code, box=BOX, now=NOW)
    assert (first, again) == (Passed.totp, None)


async def test_each_recovery_code_works_once(database: Database) -> None:
    staff_id, codes = await _enrolled(database, new_secret())
    assert await _check(database, staff_id, codes[0]) == Passed.recovery
    assert await _check(database, staff_id, codes[0]) is None
    # as someone copies it off paper: spaces, capitals, a 1 for an l and a 0 for an o
    typed = codes[1].replace("-", " ").replace("l", "1").replace("o", "0").upper()
    assert await _check(database, staff_id, typed) == Passed.recovery
    assert await _check(database, staff_id, "aaaa-bbbb-cccc-dddd") is None
    async with database.sessionmaker() as session:
        assert await second_factor.recovery_codes_left(session, staff_id=staff_id) == 8
    assert [(action, after) for action, _, after in await _actions(database)][1:] == [
        ("staff.second_factor.recovery_used", {"left": 9}),
        ("staff.second_factor.failed", {"kind": "recovery"}),
        ("staff.second_factor.recovery_used", {"left": 8}),
        ("staff.second_factor.failed", {"kind": "recovery"}),
    ]


async def test_new_recovery_codes_replace_the_old_ones(database: Database) -> None:
    staff_id, old = await _enrolled(database, new_secret())
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        new = await second_factor.new_recovery_codes(session, staff=staff)
    assert set(new).isdisjoint(old)
    assert await _check(database, staff_id, old[2]) is None
    assert await _check(database, staff_id, new[2]) == Passed.recovery


async def test_without_a_factor_no_code_passes(database: Database) -> None:
    staff_id = await _staff(database)
    assert await _check(database, staff_id, "123456") is None
    assert [action for action, _, _ in await _actions(database)] == ["staff.second_factor.failed"]


async def test_removal_and_an_admins_reset_sign_the_person_out(database: Database) -> None:
    staff_id, _ = await _enrolled(database, new_secret())
    admin_id = await _staff(database, "admin@example.com")
    async with database.sessionmaker() as session, session.begin():
        with pytest.raises(Conflict, match="replace your own second factor"):
            await second_factor.reset(session, staff_id=admin_id, actor_id=admin_id)
        staff = await second_factor.reset(session, staff_id=staff_id, actor_id=admin_id)
        assert staff.session_version == 2
        with pytest.raises(Conflict, match=r"omar@example\.com has no second factor"):
            await second_factor.reset(session, staff_id=staff_id, actor_id=admin_id)
        with pytest.raises(NotFound, match="staff member 999 does not exist"):
            await second_factor.reset(session, staff_id=999, actor_id=admin_id)
        assert await session.scalar(select(RecoveryCode.id)) is None
        await second_factor.enrol(session, staff=staff, secret=new_secret(), step=0, box=BOX)
        await second_factor.remove(session, staff=staff)
        assert staff.session_version == 4
        with pytest.raises(NotFound, match="you have no second factor"):
            await second_factor.remove(session, staff=staff)
        assert await second_factor.enrolled_ids(session) == set()
    assert await _actions(database) == [
        ("staff.second_factor.enrol", staff_id, None),
        ("staff.second_factor.reset", admin_id, None),
        ("staff.second_factor.enrol", staff_id, None),
        ("staff.second_factor.remove", staff_id, None),
    ]


def test_the_roles_that_need_a_second_factor_are_a_setting() -> None:
    assert Settings().second_factor_roles() == {StaffRole.admin, StaffRole.finance}
    listed = Settings.from_env({"STAFF_2FA_ROLES": " Support, admin ,"})
    assert listed.second_factor_roles() == {StaffRole.support, StaffRole.admin}
    assert Settings.from_env({"STAFF_2FA_ROLES": ""}).second_factor_roles() == frozenset()
    for wrong in ("platform", "admin,auditor"):
        with pytest.raises(SettingsError, match="STAFF_2FA_ROLES lists console roles"):
            Settings.from_env({"STAFF_2FA_ROLES": wrong})
    roles = Settings().second_factor_roles()
    assert [second_factor.required(role, roles) for role in StaffRole] == [
        False,
        True,
        True,
        False,
    ]


async def test_after_a_key_change_the_codes_fail_and_recovery_codes_still_work(
    database: Database,
) -> None:
    secret = new_secret()
    staff_id, codes = await _enrolled(database, secret)
    async with database.sessionmaker() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        other = SecretBox(b"n" * 32)  # SECRET_KEY changed since enrolment
        code = code_at(secret, step_at(NOW))
        assert (
            await second_factor.check(session, staff=staff, code=code, box=other, now=NOW) is None
        )
        passed = await second_factor.check(session, staff=staff, code=codes[0], box=other, now=NOW)
        assert passed == Passed.recovery
    assert [after for action, _, after in await _actions(database)][1:] == [
        {"kind": "unreadable"},
        {"left": 9},
    ]
