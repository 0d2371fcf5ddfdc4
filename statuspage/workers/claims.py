"""How the outbox workers claim rows: one UPDATE … RETURNING that leases the due rows.

The due rows are chosen with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer), so
workers never wait on each other; a row whose lease ran out is due again, for any worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import ReturningUpdate

from compensation.models import CreditDelivery, CreditState
from incidents.broadcasting.models import Delivery, DeliveryState


def claim_due(
    model: type[Delivery] | type[CreditDelivery],
    *,
    pending: DeliveryState | CreditState,
    now: datetime,
    lease: timedelta,
    owner: str,
    limit: int,
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    where: Sequence[ColumnElement[bool]] = (),
) -> ReturningUpdate[int]:
    """Leases to `owner`, until `now + lease`, up to `limit` pending rows that are due and
    unleased (and meet `where`), in `order_by` order; returns their ids."""
    due = (
        select(model.id)
        .where(
            model.state == pending,
            model.next_attempt_at <= now,
            or_(model.lease_until.is_(None), model.lease_until < now),
            *where,
        )
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(model)
        .where(model.id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
