"""The session cookie is a Signer token of its own purpose: it signs in, and nothing else does."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import Channel, Subscription
from incidents.common.staff import Staff, StaffRole
from statuspage.access.signing import Signer, load_signer
from statuspage.config import Settings
from statuspage.console.kit import SESSION_PURPOSE, SESSION_SECONDS
from statuspage.db import Database
from tests.statuspage.console_helpers import signed_in

NOW = datetime.now(UTC)


async def _signer(database: Database, settings: Settings) -> Signer:
    async with database.sessionmaker() as session, session.begin():
        return await load_signer(session, settings)


def _cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get("staff_session")
    assert value is not None
    return value


async def _with_cookie(client: httpx.AsyncClient, value: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/staff/", headers={"cookie": f"staff_session={value}"})


async def _staff(database: Database, email: str) -> Staff:
    async with database.sessionmaker() as session:
        found = await session.scalar(select(Staff).where(Staff.email == email))
    assert found is not None
    return found


async def test_the_cookie_is_a_session_token_that_signs_in(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    before = int(time.time())
    csrf = await signed_in(client, database, StaffRole.support)
    after = int(time.time())
    value = _cookie(client)
    staff = await _staff(database, "support@example.com")
    claims = (await _signer(database, settings)).claims(SESSION_PURPOSE, value, now=NOW)
    assert (claims.subject, claims.version, claims.nonce) == (staff.id, staff.session_version, csrf)
    # Twelve hours from the moment the session began (the sign-in page's visit, at the latest).
    assert before + SESSION_SECONDS <= claims.expires <= after + SESSION_SECONDS
    page = await _with_cookie(client, value)
    assert page.status_code == 200
    assert "<span>Support Person (support)</span>" in page.text
    assert f'name="csrf" value="{csrf}"' in page.text


async def test_a_tampered_cookie_is_refused(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    await signed_in(client, database, StaffRole.support)
    value = _cookie(client)
    body, mac = value.split(".")
    client.cookies.clear()
    await signed_in(client, database, StaffRole.admin)
    other_body = _cookie(client).split(".")[0]  # the admin's claims under the support's MAC
    changed = mac[:-1] + ("B" if mac.endswith("A") else "A")
    for forged in (f"{other_body}.{mac}", f"{body}.{changed}", body, value + "x"):
        answer = await _with_cookie(client, forged)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/staff/login?next=/staff/"


async def test_a_subscribers_manage_token_is_not_a_session(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    staff = await _staff(database, "admin@example.com")
    signer = await _signer(database, settings)
    # Same key, subject, version, expiry and even a nonce: only the purpose differs.
    until = datetime.fromtimestamp(NOW.timestamp() + 3600, UTC)
    version = staff.session_version
    session_like = signer.make(SESSION_PURPOSE, staff.id, version, until, nonce=csrf)
    assert (await _with_cookie(client, session_like)).status_code == 200
    for purpose in ("manage", "unsubscribe", "confirm"):
        for token in (
            signer.make(purpose, staff.id, version),
            signer.make(purpose, staff.id, version, until, nonce=csrf),
        ):
            answer = await _with_cookie(client, token)
            assert answer.status_code == 303, purpose
            assert answer.headers["location"] == "/staff/login?next=/staff/"


async def test_a_session_cookie_is_not_a_manage_link(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    await signed_in(client, database, StaffRole.support)
    value = _cookie(client)
    staff = await _staff(database, "support@example.com")
    async with database.sessionmaker() as session, session.begin():
        # a subscription whose id and token version are the staff member's id and version
        subscription = Subscription(
            id=staff.id,
            channel=Channel.email,
            address="holder@wallet.example",
            language="en",
            token_version=staff.session_version,
            confirmed_at=NOW,
        )
        session.add(subscription)
    signer = await _signer(database, settings)
    # A manage link as emails carry it (with the subscription's nonce).
    real = signer.make("manage", staff.id, staff.session_version, nonce=subscription.nonce)
    page = await client.get("/subscriptions/manage", params={"token": real})
    assert page.status_code == 200
    assert "holder@wallet.example" in page.text
    for path in ("/subscriptions/manage", "/subscriptions/unsubscribe", "/subscriptions/confirm"):
        refused = await client.get(path, params={"token": value})
        assert refused.status_code == 400, path
        assert "This link is invalid or has expired." in refused.text
        assert "holder@wallet.example" not in refused.text


async def test_an_expired_session_is_refused(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    staff = await _staff(database, "support@example.com")
    signer = await _signer(database, settings)
    ended = datetime.fromtimestamp(NOW.timestamp() - 1, UTC)
    stale = signer.make(SESSION_PURPOSE, staff.id, staff.session_version, ended, nonce=csrf)
    answer = await _with_cookie(client, stale)
    assert answer.status_code == 303
    assert re.fullmatch(r"/staff/login\?next=/staff/", answer.headers["location"])
