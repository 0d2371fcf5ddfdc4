"""Taking a batch's events into its draft: plan in a short read, sum with no transaction open,
then add the sums to the lines in one short transaction."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from compensation import provenance, rules, service
from compensation.errors import Conflict, InvalidInput
from compensation.events import AccountEvent, Rejection, identity
from compensation.models import Batch, Contribution, LeftOut
from compensation.rules import Eligibility
from compensation.schemas import CouponRules, FeeRefundRules
from incidents import service as incident_service
from incidents.common import audit
from incidents.common.errors import N_

_T = TypeVar("_T")
# Repeated events reported with where each was first taken; past this they are only counted.
REPEATS_KEPT = 100


class Transactions(Protocol):
    """How the edge runs work on the database: in a session that only reads, or in one
    transaction (the edge decides what else goes with a write)."""

    async def read(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T: ...

    async def write(self, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T: ...


async def take_events(
    db: Transactions,
    *,
    batch_id: int,
    events: AsyncIterable[list[AccountEvent | Rejection]],
    source: str,
    digest: Callable[[], str] | None,
    actor_id: int,
) -> tuple[Batch, Collected]:
    """A batch's events, however they come (an upload, the platform's paged API): the plan in
    a short read, the sums with no transaction open (an upload may take minutes), then one
    short transaction adding them to the draft. `digest` gives the file's SHA-256 once read."""
    plan = await db.read(lambda session: plan_intake(session, batch_id=batch_id, identities=True))
    collected = await collect(plan, events, Collected())
    batch = await db.write(
        lambda session: commit_intake(
            session,
            plan=plan,
            collected=collected,
            source=source,
            digest=digest() if digest is not None else None,
            actor_id=actor_id,
        )
    )
    return batch, collected


@dataclass(frozen=True)
class IntakePlan:
    """What a batch takes, read before a long upload so no transaction stays open during it."""

    batch_id: int
    incident_id: int
    policy_version: int
    rules: FeeRefundRules | CouponRules
    eligibility: Eligibility
    components: dict[str, int]  # "3" and "spot trading" (lower case) -> 3
    sources: tuple[dict[str, Any], ...] = ()  # what the batch had taken: a clear is noticed
    taken: frozenset[bytes] = frozenset()  # the identities of the events it has summed


@dataclass
class Repeat:
    """An event already taken: its line here, and where it was first taken (known at commit)."""

    line: int
    identity: bytes
    first_source: str = ""
    first_line: int = 0


@dataclass
class Collected:
    aggregate: service.Aggregate = field(default_factory=dict)
    rejections: list[tuple[int, str]] = field(default_factory=list)
    left_out: list[tuple[int, str, LeftOut]] = field(default_factory=list)  # line, account, why
    repeats: list[Repeat] = field(default_factory=list)
    identities: dict[bytes, int] = field(default_factory=dict)  # each summed event's line
    accepted: int = 0
    rejected: int = 0
    ineligible: int = 0
    repeated: int = 0
    contribution: Contribution = Contribution.loaded_events  # what taking it does, for four eyes

    def summary(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "ineligible": self.ineligible,
            "repeated": self.repeated,
        }


async def plan_intake(
    session: AsyncSession, *, batch_id: int, identities: bool = False
) -> IntakePlan:
    """What the batch takes; with `identities`, also the events it has summed, to take
    events (a pasted list of accounts needs none)."""
    batch = await service.get_batch(session, batch_id=batch_id)
    rules.check_editable(batch.state)
    rules.check_fresh(batch.intake)
    sources = tuple(batch.intake.get("sources", []))
    taken = await _taken(session, batch, sources) if identities else frozenset()
    value = service.batch_rules(batch)
    eligibility = await _eligibility(session, value, incident_id=batch.incident_id)
    if eligibility is None:
        raise Conflict(
            N_("incident %(id)s was reopened: its events are taken once it is resolved again"),
            field="file",
            id=batch.incident_id,
        )
    components: dict[str, int] = {}
    for component in await incident_service.list_components(session):
        components[str(component.id)] = component.id
        components[component.name.strip().lower()] = component.id
    return IntakePlan(
        batch_id=batch.id,
        incident_id=batch.incident_id,
        policy_version=batch.policy_version,
        rules=value,
        eligibility=eligibility,
        components=components,
        sources=sources,
        taken=taken,
    )


async def _eligibility(
    session: AsyncSession, value: FeeRefundRules | CouponRules, *, incident_id: int
) -> Eligibility | None:
    """Where events count, from the incident's impact windows as they stand; None while
    the incident is open (reopened since its batch was made)."""
    incident = await incident_service.get_incident(session, incident_id=incident_id)
    if incident.resolved_at is None:
        return None
    return rules.eligibility(
        value,
        impact=incident_service.impact_windows(incident),
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
    )


async def _taken(
    session: AsyncSession, batch: Batch, sources: tuple[dict[str, Any], ...]
) -> frozenset[bytes]:
    if any(source.get("identified") is False for source in sources):
        raise Conflict(
            N_(
                "batch %(id)s took events before events had identities (migration 0014), so an "
                "event sent again would be summed again: clear its intake and load every file "
                "again"
            ),
            field="file",
            id=batch.id,
        )
    if not sources:
        return frozenset()
    return await provenance.event_identities(session, batch_id=batch.id)


async def collect(
    plan: IntakePlan, batches: AsyncIterable[list[AccountEvent | Rejection]], into: Collected
) -> Collected:
    """Sums each eligible event into its (account, asset) line; keeps the rejections."""
    async for batch in batches:
        for event in batch:
            if isinstance(event, Rejection):
                _reject(into, event.line, event.reason)
            else:
                _add(plan, event, into)
    return into


def _add(plan: IntakePlan, event: AccountEvent, into: Collected) -> None:
    component_id = plan.components.get(event.component)
    if component_id is None:
        component_id = plan.components.get(event.component.strip().lower())
    if component_id is None:
        _reject(into, event.line, f"component: {event.component[:60]!r} is not a component")
        return
    left_out = plan.eligibility.left_out(
        component_id=component_id, kind=event.kind, asset=event.asset, at=event.at
    )
    if left_out is not None:
        into.accepted += 1
        into.ineligible += 1
        if len(into.left_out) < service.REJECTIONS_KEPT:
            into.left_out.append((event.line, event.account_id, left_out))
        return
    known = identity(event, component_id)
    if known in into.identities or known in plan.taken:  # sent before: reported, not summed
        into.repeated += 1
        if len(into.repeats) < REPEATS_KEPT:
            into.repeats.append(Repeat(event.line, known))
        return
    into.identities[known] = event.line
    into.accepted += 1
    value = plan.rules
    key = (event.account_id, rules.line_asset(value, event.asset))
    line = into.aggregate.get(key)
    if line is None:
        line = into.aggregate[key] = [Decimal(0), Decimal(0), 0]
    if rules.counts_toward_line(value, event.asset):
        line[0] += event.fee
        line[1] += event.volume
    line[2] += 1


async def in_batches(
    events: AsyncIterable[AccountEvent | Rejection], size: int = 1000
) -> AsyncIterator[list[AccountEvent | Rejection]]:
    """One event at a time (the paged HTTP pull) regrouped for `collect`."""
    batch: list[AccountEvent | Rejection] = []
    async for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reject(into: Collected, line: int, reason: str) -> None:
    into.rejected += 1
    if len(into.rejections) < service.REJECTIONS_KEPT:
        into.rejections.append((line, reason))


def collect_accounts(plan: IntakePlan, account_ids: Iterable[str]) -> Collected:
    """A pasted list of accounts: each gets a line with no activity (coupons only)."""
    value = plan.rules
    if not isinstance(value, CouponRules) or value.tiers is not None:
        raise InvalidInput(
            N_("a list of accounts fits a fixed-amount coupon; this policy needs their events"),
            field="account_ids",
        )
    into = Collected(contribution=Contribution.loaded_accounts)
    for account_id in account_ids:
        into.accepted += 1
        into.aggregate.setdefault((account_id, value.asset), [Decimal(0), Decimal(0), 0])
    return into


async def commit_intake(
    session: AsyncSession,
    *,
    plan: IntakePlan,
    collected: Collected,
    source: str,
    digest: str | None,
    actor_id: int,
) -> Batch:
    """Adds what was collected to the batch's lines, in one transaction. The incident is
    locked first (as a correction and a reopening lock it before its batches): one that
    landed while the upload was read changed the windows the events were summed against."""
    await incident_service.lock_incident(session, incident_id=plan.incident_id, shared=True)
    batch = await service.get_batch(session, batch_id=plan.batch_id, lock=True)
    sources: list[dict[str, Any]] = list(batch.intake.get("sources", []))
    _check_still_planned(batch, plan, sources, digest)
    rules.check_fresh(batch.intake)
    await _check_same_windows(session, batch, plan)
    await provenance.add_event_identities(
        session, batch_id=batch.id, source=len(sources), lines=collected.identities
    )
    collected.identities.clear()  # written; freed before the lines are priced (the peak)
    aggregate = await service.load_aggregate(session, batch_id=batch.id)
    for key, (fees, volume, events) in collected.aggregate.items():
        line = aggregate.get(key)
        if line is None:  # the collected sums as they are: no new Decimals for each line
            aggregate[key] = [fees, volume, events]
            continue
        line[0] += fees
        line[1] += volume
        line[2] += events
    await service.write_lines(session, batch=batch, aggregate=aggregate)
    await service.add_rejections(
        session, batch_id=batch.id, source=source, found=collected.rejections
    )
    await service.add_left_out(session, batch_id=batch.id, source=source, found=collected.left_out)
    await provenance.add_contributor(
        session, batch_id=batch.id, staff_id=actor_id, contribution=collected.contribution
    )
    summary = collected.summary()
    sources.append({"source": source, "sha256": digest, **summary})
    await _say_where_first_taken(session, batch.id, sources, collected.repeats)
    intake = {name: batch.intake.get(name, 0) + count for name, count in summary.items()}
    batch.intake = {**intake, "sources": sources}
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.intake",
        entity_type="compensation_batch",
        entity_id=batch.id,
        after={"source": source, "sha256": digest, **summary, "lines": len(aggregate)},
    )
    return batch


async def _check_same_windows(session: AsyncSession, batch: Batch, plan: IntakePlan) -> None:
    """The events were summed against the incident's impact windows as planned: a correction
    or a reopening since changed them."""
    now = await _eligibility(session, service.batch_rules(batch), incident_id=plan.incident_id)
    if now != plan.eligibility:
        raise Conflict(
            N_(
                "the incident's impact changed during the upload (it was corrected or "
                "reopened); send the file again"
            ),
            field="file",
        )


def _check_still_planned(
    batch: Batch, plan: IntakePlan, sources: list[dict[str, Any]], digest: str | None
) -> None:
    """What the upload was read against still holds: a draft, the same policy version, the
    intake not cleared meanwhile (the repeats were found among what it had), a new file."""
    rules.check_editable(batch.state)
    if batch.policy_version != plan.policy_version:
        raise Conflict(
            N_("the batch's policy changed during the upload; send it again"), field="file"
        )
    if tuple(sources[: len(plan.sources)]) != plan.sources:
        raise Conflict(
            N_("the intake of batch %(id)s was cleared during the upload; send it again"),
            field="file",
            id=batch.id,
        )
    if digest is not None and any(taken.get("sha256") == digest for taken in sources):
        raise Conflict(
            N_("this file was already taken into batch %(id)s; clear the intake to take it again"),
            field="file",
            id=batch.id,
        )


async def _say_where_first_taken(
    session: AsyncSession, batch_id: int, sources: list[dict[str, Any]], repeats: list[Repeat]
) -> None:
    """Each reported repeat gets the source and line of the event's first taking (this
    intake's own identities are written by now)."""
    found = await provenance.first_seen(
        session, batch_id=batch_id, identities=(repeat.identity for repeat in repeats)
    )
    for repeat in repeats:
        source, line = found[repeat.identity]
        repeat.first_source, repeat.first_line = str(sources[source].get("source", "")), line
