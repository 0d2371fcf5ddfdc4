"""Migration 0016 alters incident_updates, which every component change hangs on (ON DELETE
CASCADE): on SQLite its table copy must not take the component changes with it, either way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from incidents import flows
from incidents.common.actor import Actor
from incidents.models import Component, ComponentStatus, IncidentStatus
from incidents.schemas import IncidentOpen, UpdateIn
from statuspage.db import Database
from tests.statuspage.test_migrations import _migrate_to, _run


def _changes(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(
        text(
            "SELECT id, update_id, component_id, old_status, new_status FROM component_changes"
            " ORDER BY id"
        )
    )
    return [tuple(row) for row in rows]


def _down_and_up(connection: Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    _migrate_to(connection, "0015")
    below = _changes(connection)
    _migrate_to(connection, "head")
    return below, _changes(connection)


async def test_0016_keeps_every_component_change_down_and_up(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = Component(name="BTC withdrawals"), Component(name="ETH withdrawals")
        session.add_all([btc, eth])
        await session.flush()
        actor = Actor(staff_id=None, default_language="en")
        opened = await flows.open_incident(
            session,
            data=IncidentOpen(
                name="Withdrawals delayed",
                body="Queued.",
                components={btc.id: ComponentStatus.degraded_performance},
            ),
            actor=actor,
        )
        update = UpdateIn(
            status=IncidentStatus.identified,
            body="ETH down too.",
            components={eth.id: ComponentStatus.major_outage},
        )
        await flows.post_update(session, incident_id=opened.id, data=update, actor=actor)
    before = await _run(database, _changes)
    assert len(before) == 2
    below, after = await _run(database, _down_and_up)
    assert below == before and after == before
