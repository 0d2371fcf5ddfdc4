"""Signed tokens: a token works for its purpose and subject only, until it expires or is
revoked, one key is shared by every instance through the database, and links sent before
still work."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from incidents.broadcasting.models import Channel, Subscription
from statuspage.access.signing import Claims, InvalidToken, Signer, load_signer
from statuspage.config import Settings
from statuspage.db import Database

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SIGNER = Signer(b"k" * 32)


def test_a_token_reads_back_its_subscription_and_version() -> None:
    token = SIGNER.make("manage", 42, 3)
    assert SIGNER.read("manage", token, now=NOW) == (42, 3)


def test_a_token_for_one_purpose_does_not_work_for_another() -> None:
    token = SIGNER.make("manage", 42, 1)
    with pytest.raises(InvalidToken, match="invalid"):
        SIGNER.read("unsubscribe", token, now=NOW)


def test_a_changed_token_or_another_key_is_refused() -> None:
    token = SIGNER.make("confirm", 42, 1)
    body, mac = token.split(".")
    other = SIGNER.make("confirm", 43, 1).split(".")[0]
    with pytest.raises(InvalidToken):
        SIGNER.read("confirm", f"{other}.{mac}", now=NOW)
    with pytest.raises(InvalidToken):
        Signer(b"x" * 32).read("confirm", token, now=NOW)
    with pytest.raises(InvalidToken):
        SIGNER.read("confirm", body, now=NOW)


def test_a_confirmation_token_expires() -> None:
    token = SIGNER.make("confirm", 42, 1, expires=NOW + timedelta(hours=48))
    assert SIGNER.read("confirm", token, now=NOW + timedelta(hours=47)) == (42, 1)
    with pytest.raises(InvalidToken, match="expired"):
        SIGNER.read("confirm", token, now=NOW + timedelta(hours=49))


async def test_without_a_secret_key_every_instance_shares_one_made_on_first_use(
    database: Database, settings: Settings
) -> None:
    async with database.sessionmaker() as session, session.begin():
        first = await load_signer(session, settings)
    async with database.sessionmaker() as session, session.begin():
        second = await load_signer(session, settings)
    assert first.key == second.key
    token = first.make("manage", 1, 1)
    assert second.read("manage", token, now=NOW) == (1, 1)
    configured = dataclasses.replace(settings, secret_key="from-the-environment")
    async with database.sessionmaker() as session, session.begin():
        chosen = await load_signer(session, configured)
    assert chosen.key != first.key


# Made by the Signer as it was before the console's session became one of its tokens
# (commit d7d7f30), with the key b"k" * 32: links in inboxes look exactly like these.
SENT_BEFORE = {
    "manage": "WyJtYW5hZ2UiLDQyLDMsMF0.V5oH_jpx8RF-k_TWN0QUuy-avIU",
    "unsubscribe": "WyJ1bnN1YnNjcmliZSIsNDIsMywwXQ.y4YNBF6q4OvU5eVXB7AemsniSmI",
}
CONFIRM_SENT_BEFORE = "WyJjb25maXJtIiw0MiwxLDE3OTUzMzQ0MDBd.PoWDN2qRhsEw0g6xxZLy9iXZp0Y"


def _signed_by_hand(key: bytes, claims: list[object]) -> str:
    """A token as the Signer's code wrote it before this change, reproduced by hand."""
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    text = body.rstrip(b"=").decode()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:20]
    return f"{text}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _made_before(key: bytes, purpose: str, subject: int, version: int) -> str:
    return _signed_by_hand(key, [purpose, subject, version, 0])


def test_links_sent_before_still_read_and_are_made_alike() -> None:
    for purpose, token in SENT_BEFORE.items():
        assert SIGNER.read(purpose, token, now=NOW) == (42, 3)
        assert SIGNER.make(purpose, 42, 3) == token
    expires = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert SIGNER.read("confirm", CONFIRM_SENT_BEFORE, now=NOW) == (42, 1)
    assert SIGNER.make("confirm", 42, 1, expires=expires) == CONFIRM_SENT_BEFORE


def test_a_nonce_rides_in_the_signed_claims() -> None:
    until = NOW + timedelta(hours=12)
    token = SIGNER.make("staff-session", 7, 2, until, nonce="csrf-token")
    claims = SIGNER.claims("staff-session", token, now=NOW)
    assert claims == Claims(7, 2, int(until.timestamp()), "csrf-token")
    assert SIGNER.claims("manage", SENT_BEFORE["manage"], now=NOW).nonce == ""
    with pytest.raises(InvalidToken, match="expired"):
        SIGNER.claims("staff-session", token, now=until + timedelta(seconds=1))


def test_a_session_token_and_a_link_never_read_as_each_other() -> None:
    session = SIGNER.make("staff-session", 42, 3, NOW + timedelta(hours=1), nonce="n")
    for purpose in ("manage", "unsubscribe", "confirm"):
        with pytest.raises(InvalidToken, match="invalid"):
            SIGNER.read(purpose, session, now=NOW)
    for token in SENT_BEFORE.values():
        with pytest.raises(InvalidToken, match="invalid"):
            SIGNER.claims("staff-session", token, now=NOW)


@pytest.mark.parametrize(
    "claims",
    [
        ["manage", 42, 3, 0, "n", "extra"],  # a sixth claim
        ["manage", 42, 3, 0, 5],  # a nonce that is not text
        ["manage", True, 3, 0],  # a subject that is not a number
        ["manage", 42, 3, "0"],
        ["manage", 42, 3],
    ],
)
def test_signed_but_malformed_claims_are_refused(claims: list[object]) -> None:
    token = _signed_by_hand(SIGNER.key, claims)
    with pytest.raises(InvalidToken, match="invalid"):
        SIGNER.read("manage", token, now=NOW)


async def test_an_email_link_made_before_still_manages_and_unsubscribes(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    async with database.sessionmaker() as session, session.begin():
        key = (await load_signer(session, settings)).key
        # A row that was there before links carried its nonce (revision 0009 marks them).
        subscription = Subscription(
            channel=Channel.email,
            address="holder@wallet.example",
            language="en",
            confirmed_at=NOW,
            legacy_links=True,
        )
        session.add(subscription)
        await session.flush()
        subject, version = subscription.id, subscription.token_version
    manage = _made_before(key, "manage", subject, version)
    page = await client.get("/subscriptions/manage", params={"token": manage})
    assert page.status_code == 200
    assert "holder@wallet.example" in page.text
    leave = _made_before(key, "unsubscribe", subject, version)
    answer = await client.post(
        f"/subscriptions/unsubscribe?token={leave}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 0
