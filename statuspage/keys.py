"""The site's secret key: SECRET_KEY, or one generated on first use and kept in the database
so that every instance signs alike; loaded once per process."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.broadcasting.models import SiteSecret
from statuspage.config import Settings
from statuspage.db import Database


async def load_site_key(session: AsyncSession, settings: Settings) -> bytes:
    """The 32-byte key everything signed by the site derives from."""
    if settings.secret_key:
        return hashlib.sha256(settings.secret_key.encode()).digest()
    stored = await session.scalar(select(SiteSecret.value).where(SiteSecret.name == "signing"))
    if stored is None:
        stored = secrets.token_urlsafe(32)
        try:
            async with session.begin_nested():
                session.add(SiteSecret(name="signing", value=stored, created_at=datetime.now(UTC)))
        except IntegrityError:  # another instance made it first: use theirs
            stored = await session.scalar(
                select(SiteSecret.value).where(SiteSecret.name == "signing")
            )
            assert stored is not None
    return hashlib.sha256(stored.encode()).digest()


class Keys:
    """The site key, loaded on first use: links in emails and the console's session cookie are
    signed with it (`access.signing.Signer`), each kind with its own purpose inside the token."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._site: bytes | None = None

    async def site(self) -> bytes:
        """What the links in emails are signed with (`access.signing.Signer`)."""
        if self._site is None:
            async with self._database.sessionmaker() as session, session.begin():
                self._site = await load_site_key(session, self._settings)
        return self._site
