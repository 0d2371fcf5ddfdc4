from __future__ import annotations

from statuspage.db import Database
from incidents import flows, component_flows
from incidents.schemas import ComponentIn, IncidentOpen, UpdateIn
from incidents.models import ComponentStatus


async def test_open_and_update(database: Database) -> None:
    actor = flows.Actor(staff_id=None, default_language="en")
    async with database.sessionmaker() as session, session.begin():
        c = await component_flows.create_component(session, data=ComponentIn(name="BTC deposits"), actor=actor)
        inc = await flows.open_incident(session, data=IncidentOpen(name="BTC deposits delayed", body="Looking", components={c.id: ComponentStatus.partial_outage}), actor=actor)
        inc = await flows.post_update(session, incident_id=inc.id, data=UpdateIn(status="identified", body="Found"), actor=actor)
        inc = await flows.post_update(session, incident_id=inc.id, data=UpdateIn(status="resolved", body="Fixed"), actor=actor)
        print(inc.status, [u.status for u in inc.updates], [(ch.old_status, ch.new_status) for u in inc.updates for ch in u.component_changes])
