"""Corrections of an incident's record: a component listed by mistake comes off it with all
it contributed (statuses, impact windows), and a posted update's text is marked as edited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import flows, service
from incidents.broadcasting.models import BroadcastEvent, Channel, Delivery, Subscription
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import InvalidInput
from incidents.models import Component, ComponentStatus, Incident, IncidentStatus
from incidents.rules import ImpactWindow, Segment
from incidents.schemas import (
    ComponentCorrectionIn,
    IncidentOpen,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
)
from statuspage.db import Database

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DEGRADED, MAJOR = ComponentStatus.degraded_performance, ComponentStatus.major_outage


def _at(minutes: int) -> Actor:
    return Actor(staff_id=None, default_language="en", now=T0 + timedelta(minutes=minutes))


async def _components(session: AsyncSession) -> tuple[int, int]:
    btc, eth = Component(name="BTC withdrawals"), Component(name="ETH withdrawals")
    session.add_all([btc, eth])
    await session.flush()
    return btc.id, eth.id


async def _withdrawals_incident(session: AsyncSession, btc: int, eth: int) -> Incident:
    """Opened at T0 with BTC and ETH degraded, ETH down at +20 min; still open."""
    opened = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="Withdrawals delayed",
            body="Withdrawals are queued.",
            components={btc: DEGRADED, eth: DEGRADED},
        ),
        actor=_at(0),
    )
    data = UpdateIn(
        status=IncidentStatus.identified, body="ETH node down.", components={eth: MAJOR}
    )
    return await flows.post_update(session, incident_id=opened.id, data=data, actor=_at(20))


def _correction(component_id: int, **more: object) -> ComponentCorrectionIn:
    return ComponentCorrectionIn.model_validate(
        {"component_id": component_id, "body": "BTC withdrawals were listed by mistake.", **more}
    )


async def test_a_wrongly_listed_component_loses_its_impact_windows(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = await _components(session)
        incident = await _withdrawals_incident(session, btc, eth)
        resolved = await flows.resolve_incident(
            session, incident_id=incident.id, data=ResolveIn(body="Fixed."), actor=_at(60)
        )
        assert sorted(service.impact_windows(resolved)) == [btc, eth]

        corrected = await flows.remove_component(
            session, incident_id=incident.id, data=_correction(btc), actor=_at(90)
        )

        eth_window = ImpactWindow(
            eth,
            T0,
            T0 + timedelta(minutes=60),
            (
                Segment(T0, T0 + timedelta(minutes=20), DEGRADED),
                Segment(T0 + timedelta(minutes=20), T0 + timedelta(minutes=60), MAJOR),
            ),
        )
        assert service.impact_windows(corrected) == {eth: [eth_window]}
        assert [component.id for component in corrected.components] == [eth]
        changed = {
            change.component_id
            for update in corrected.updates
            for change in update.component_changes
        }
        assert changed == {eth}
        last = corrected.updates[-1]
        assert (last.corrected_component_id, last.body) == (
            btc,
            "BTC withdrawals were listed by mistake.",
        )
        assert (last.status, last.display_at) == (
            IncidentStatus.resolved,
            T0 + timedelta(minutes=90),
        )
        assert corrected.status == IncidentStatus.resolved  # the correction reopens nothing
        [entry] = await audit.list_entries(session, action="incident.correct")
        assert entry.before is not None and entry.after is not None
        removed = [
            (row["component_id"], row["new_status"]) for row in entry.before["removed_changes"]
        ]
        assert removed == [(btc, "degraded_performance"), (btc, "operational")]
        assert (entry.before["component_ids"], entry.after["component_ids"]) == (
            sorted([btc, eth]),
            [eth],
        )


async def test_an_open_incident_no_longer_holds_the_component_down(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = await _components(session)
        incident = await _withdrawals_incident(session, btc, eth)
        assert (await service.get_component(session, component_id=btc)).status == DEGRADED
        await flows.remove_component(
            session, incident_id=incident.id, data=_correction(btc, notify=False), actor=_at(30)
        )
        btc_now = await service.get_component(session, component_id=btc)
        eth_now = await service.get_component(session, component_id=eth)
        assert (btc_now.status, eth_now.status) == (ComponentStatus.operational, MAJOR)


async def test_a_component_not_on_the_incident_cannot_be_removed(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = await _components(session)
        incident = await _withdrawals_incident(session, btc, eth)
        await flows.remove_component(
            session, incident_id=incident.id, data=_correction(btc), actor=_at(30)
        )
        with pytest.raises(InvalidInput, match=f"component {btc} is not listed") as refused:
            await flows.remove_component(
                session, incident_id=incident.id, data=_correction(btc), actor=_at(31)
            )
        assert refused.value.field == "component_id"


async def test_an_edited_update_is_marked_with_when(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = await _components(session)
        incident = await _withdrawals_incident(session, btc, eth)
        first = incident.updates[0]
        assert first.edited_at is None
        edited = await flows.edit_update(
            session,
            incident_id=incident.id,
            update_id=first.id,
            data=UpdateEdit(body="Withdrawals on two chains are queued."),
            actor=_at(25),
        )
        again = next(update for update in edited.updates if update.id == first.id)
        assert (again.body, again.edited_at) == (
            "Withdrawals on two chains are queued.",
            T0 + timedelta(minutes=25),
        )


async def test_the_correction_reaches_those_who_follow_only_the_removed_component(
    database: Database,
) -> None:
    async with database.sessionmaker() as session, session.begin():
        btc, eth = await _components(session)
        follows = {}
        for name, component in (("btc-only", btc), ("eth-only", eth)):
            subscription = Subscription(
                channel=Channel.email,
                address=f"{name}@example.com",
                language="en",
                all_components=False,
                confirmed_at=T0,
                components=[await session.get(Component, component)],
            )
            session.add(subscription)
            await session.flush()
            follows[subscription.id] = name
        incident = await _withdrawals_incident(session, btc, eth)
        await flows.remove_component(
            session, incident_id=incident.id, data=_correction(btc), actor=_at(30)
        )
        told = await session.execute(
            select(BroadcastEvent.id, Delivery.subscription_id)
            .join(Delivery, Delivery.event_id == BroadcastEvent.id)
            .where(BroadcastEvent.incident_id == incident.id)
            .order_by(BroadcastEvent.id)
        )
        heard: dict[int, list[str]] = {}
        for event_id, subscription_id in told.all():
            heard.setdefault(event_id, []).append(follows[subscription_id])
    opened, eth_down, correction = (sorted(names) for names in heard.values())
    assert opened == ["btc-only", "eth-only"]
    assert eth_down == ["btc-only", "eth-only"]  # the incident still listed BTC then
    assert correction == ["btc-only", "eth-only"]  # told BTC was affected, so told it was not
