"""Signed links: a token works for its purpose and subscription only, until it expires or
is revoked, and one key is shared by every instance through the database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from statuspage.access.signing import InvalidToken, Signer, load_signer
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
