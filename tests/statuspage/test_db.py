"""The database wiring: every session it makes bumps the public version on a public change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from incidents import publication
from incidents.models import Component, ComponentStatus
from statuspage.db import Database, TrackedSession, session_factory


async def _version(database: Database) -> int:
    async with database.sessionmaker() as session:
        return (await publication.current(session))[0]


async def _degrade(sessions: async_sessionmaker, name: str) -> None:  # type: ignore[type-arg]
    async with sessions() as session, session.begin():
        session.add(Component(name=name))
    async with sessions() as session, session.begin():
        component = await session.scalar(select(Component).where(Component.name == name))
        assert component is not None
        component.status = ComponentStatus.degraded_performance


async def test_a_factory_session_bumps_the_version_once_per_change_however_often_registered(
    database: Database,
) -> None:
    bind = database.sessionmaker.kw["bind"]
    publication.track(TrackedSession)  # again, on top of the factory's own registrations
    sessions = session_factory(bind, join_transaction_mode="create_savepoint")
    start = await _version(database)
    await _degrade(sessions, "BTC withdrawals")
    assert await _version(database) == start + 2  # the insert, then the status change


async def test_a_session_made_outside_the_wiring_is_not_tracked(database: Database) -> None:
    bind = database.sessionmaker.kw["bind"]
    untracked = async_sessionmaker(bind, join_transaction_mode="create_savepoint")
    start = await _version(database)
    await _degrade(untracked, "ETH deposits")
    assert await _version(database) == start
