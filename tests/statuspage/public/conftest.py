"""Fixtures of the public wing's email tests: the app mailing a real SMTP server, and its
delivery worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker


@pytest.fixture
async def web(mail_settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(mail_settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.running.cache.close()


@pytest.fixture
async def worker(mail_settings: Settings, database: Database) -> AsyncIterator[DeliveryWorker]:
    worker = DeliveryWorker(database, mail_settings)
    yield worker
    await worker.close()
