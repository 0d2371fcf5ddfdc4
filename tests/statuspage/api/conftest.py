"""What the alert hook tests share: the app on a database of its own whose writes really
commit, for calls that must run concurrently (each on a connection of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from tests.conftest import Fresh


@dataclass
class Committed:
    client: httpx.AsyncClient
    admin: dict[str, str]
    database: Database


@pytest.fixture
async def committed(fresh: Fresh) -> AsyncIterator[Committed]:
    """The app on a database of its own whose writes really commit, a connection each."""
    from incidents.common.staff import StaffRole
    from statuspage.access import tokens

    settings = Settings(
        database_url=fresh.url, cache_poll_seconds=0, run_worker=False, run_scheduler=False
    )
    app = create_app(settings, database=fresh.database)
    async with fresh.database.sessionmaker() as session, session.begin():
        staff = await tokens.create_staff(
            session, email="a@x.io", name="Admin", role=StaffRole.admin, actor_id=None
        )
        _, plain = await tokens.create_token(session, staff=staff, name="t", actor_id=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Committed(client, {"Authorization": f"Bearer {plain}"}, fresh.database)
    await app.running.cache.close()
