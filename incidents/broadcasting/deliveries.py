"""What was sent to whom: deliveries listed by subscription, incident, maintenance or state, with
their attempts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents.broadcasting.models import BroadcastEvent, Delivery, DeliveryAttempt, DeliveryState


async def list_deliveries(
    session: AsyncSession,
    *,
    subscription_id: int | None = None,
    incident_id: int | None = None,
    maintenance_id: int | None = None,
    state: DeliveryState | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .join(BroadcastEvent, BroadcastEvent.id == Delivery.event_id)
        .options(selectinload(Delivery.event), selectinload(Delivery.subscription))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if incident_id is not None:
        query = query.where(BroadcastEvent.incident_id == incident_id)
    if maintenance_id is not None:
        query = query.where(BroadcastEvent.maintenance_id == maintenance_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return (await session.scalars(query)).all()


async def attempts_of(
    session: AsyncSession, *, delivery_ids: list[int]
) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found
