"""What a batch covers, as finance checks it before approving: the components and their impact
windows (as the incident recorded them, and widened by the policy's grace), the event kinds
and the assets. The same eligibility the intake filters by, read for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from compensation import rules, service
from compensation.events import EventKind
from compensation.models import Batch
from compensation.schemas import CouponRules
from incidents import service as incident_service

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class ComponentScope:
    component_id: int
    name: str
    impact: tuple[Span, ...]  # as the incident's updates set the component's status
    counted: tuple[Span, ...]  # what the intake counts: the impact, widened by the grace
    named_by_policy: bool  # the policy names it (else: the incident marked it)


@dataclass(frozen=True)
class Scope:
    components: tuple[ComponentScope, ...]
    grace_before_minutes: int
    grace_after_minutes: int
    event_kinds: tuple[EventKind, ...]
    assets: tuple[str, ...] | None  # None: any asset
    pays_in: str | None  # a coupon's asset; a fee refund pays in each fee's own asset


async def batch_scope(session: AsyncSession, *, batch: Batch) -> Scope:
    incident = await incident_service.get_incident(session, incident_id=batch.incident_id)
    value = service.batch_rules(batch)
    impact = incident_service.impact_windows(incident)
    resolved_at = incident.resolved_at or incident.started_at
    eligibility = rules.eligibility(
        value, impact=impact, started_at=incident.started_at, resolved_at=resolved_at
    )
    names = {c.id: c.name for c in await incident_service.list_components(session)}
    components = tuple(
        ComponentScope(
            component_id=component_id,
            name=names.get(component_id, f"#{component_id}"),
            impact=tuple((w.start, w.end or resolved_at) for w in impact.get(component_id, [])),
            counted=counted,
            named_by_policy=value.components is not None,
        )
        for component_id, counted in eligibility.windows.items()
    )
    return Scope(
        components=components,
        grace_before_minutes=value.grace_before_minutes,
        grace_after_minutes=value.grace_after_minutes,
        event_kinds=tuple(kind for kind in EventKind if kind in eligibility.kinds),
        assets=tuple(sorted(eligibility.assets)) if eligibility.assets is not None else None,
        pays_in=value.asset if isinstance(value, CouponRules) else None,
    )
