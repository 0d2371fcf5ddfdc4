"""Builds the benchmark's large page: the demo, components up to 50, and 500 past incidents
over two years, each with a full timeline, written through the real flows."""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import component_flows, flows, service
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.schemas import ComponentIn, GroupIn, IncidentOpen, ResolveIn, UpdateIn
from statuspage.cli import demo
from statuspage.db import connect, migrate

COMPONENTS = 50
INCIDENTS = 500
STATUSES = ["degraded_performance", "partial_outage", "major_outage"]


async def build(url: str, *, seed: int = 7) -> None:
    chance = random.Random(seed)  # noqa: S311 - a reproducible made-up history
    database = connect(url)
    await migrate(database)
    now = utcnow()
    async with database.sessionmaker() as session, session.begin():
        await demo.load(session, actor_id=None)
        ids = await _more_components(session, now)
    for number in range(INCIDENTS):
        async with database.sessionmaker() as session, session.begin():
            await _incident(session, number, ids, chance, now)
    await database.dispose()


async def _more_components(session: AsyncSession, now: datetime) -> list[int]:
    actor = Actor(staff_id=None, default_language="en", now=now)
    group = await component_flows.create_group(
        session,
        data=GroupIn.model_validate(
            {"name": "Networks", "translations": {"zh-CN": {"name": "网络"}}}
        ),
        actor=actor,
    )
    existing = len(await service.list_components(session))
    for number in range(1, COMPONENTS - existing + 1):
        component = await component_flows.create_component(
            session,
            data=ComponentIn.model_validate(
                {
                    "name": f"Chain {number} deposits and withdrawals",
                    "group_id": group.id,
                    "translations": {"zh-CN": {"name": f"链 {number} 充提"}},
                }
            ),
            actor=actor,
        )
        component.created_at = now - timedelta(days=800)
    return [component.id for component in await service.list_components(session)]


async def _incident(
    session: AsyncSession, number: int, ids: list[int], chance: random.Random, now: datetime
) -> None:
    start = now - timedelta(days=730 * (number + 1) / INCIDENTS, minutes=chance.randint(0, 600))

    def at(minutes: int) -> Actor:
        return Actor(staff_id=None, default_language="en", now=start + timedelta(minutes=minutes))

    touched = chance.sample(ids, k=chance.randint(1, 3))
    incident = await flows.open_incident(
        session,
        data=IncidentOpen.model_validate(
            {
                "name": f"Past incident {number + 1}",
                "body": "We are investigating reports of delays.",
                "components": {str(c): chance.choice(STATUSES) for c in touched},
                "translations": {
                    "zh-CN": {"name": f"历史事件 {number + 1}", "body": "我们正在调查。"}
                },
            }
        ),
        actor=at(0),
    )
    await flows.post_update(
        session,
        incident_id=incident.id,
        data=UpdateIn.model_validate(
            {
                "status": "identified",
                "body": "We found the cause and are fixing it.",
                "cause": "A dependency failed.",
                "expected_resolution_at": (start + timedelta(hours=2)).isoformat(),
            }
        ),
        actor=at(20),
    )
    await flows.resolve_incident(
        session,
        incident_id=incident.id,
        data=ResolveIn.model_validate({"body": "Resolved."}),
        actor=at(chance.randint(30, 240)),
    )


if __name__ == "__main__":
    asyncio.run(build(sys.argv[1]))
