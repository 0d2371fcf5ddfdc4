"""The console's passwords at the cost a deployment runs: the suite hashes cheaply
(tests/conftest.py), so these tests put the real hasher back and check what it stores."""

from __future__ import annotations

import httpx
import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import select

from incidents.common.staff import Staff, StaffRole
from statuspage.access import staff_accounts
from statuspage.db import Database
from tests.conftest import CHEAP_PASSWORD_HASHER, REAL_PASSWORD_HASHER
from tests.statuspage.console_helpers import PASSWORD, add_staff, sign_in


@pytest.fixture
def real_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff_accounts, "_hasher", REAL_PASSWORD_HASHER)
    monkeypatch.setattr(staff_accounts, "_DUMMY_HASH", REAL_PASSWORD_HASHER.hash("nobody's"))


async def _stored_hash(database: Database, email: str) -> str:
    async with database.sessionmaker() as session:
        stored = await session.scalar(select(Staff.password_hash).where(Staff.email == email))
    assert stored is not None
    return stored


def test_a_deployment_hashes_with_argon2s_recommended_cost() -> None:
    made = extract_parameters(REAL_PASSWORD_HASHER.hash(PASSWORD))
    assert made == RFC_9106_LOW_MEMORY
    assert (made.time_cost, made.memory_cost, made.parallelism) == (3, 65536, 4)


async def test_a_hash_cheaper_than_todays_is_made_again_at_the_next_sign_in(
    client: httpx.AsyncClient, database: Database, real_hashing: None
) -> None:
    email = "support@example.com"
    await add_staff(database, StaffRole.support, email)
    async with database.sessionmaker() as session, session.begin():
        staff = await session.scalar(select(Staff).where(Staff.email == email))
        assert staff is not None
        staff.password_hash = CHEAP_PASSWORD_HASHER.hash(PASSWORD)  # as an older release made
    assert (await sign_in(client, email, "not the password at all")).status_code == 401
    assert (await sign_in(client, "nobody@example.com")).status_code == 401
    assert extract_parameters(await _stored_hash(database, email)).time_cost == 1
    assert (await sign_in(client, email)).status_code == 303
    upgraded = await _stored_hash(database, email)
    assert extract_parameters(upgraded) == RFC_9106_LOW_MEMORY
    assert REAL_PASSWORD_HASHER.verify(upgraded, PASSWORD)
