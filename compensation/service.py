"""Every query and write of compensation's policies, batches, lines and rejections (the vouchers'
queries are `compensation.vouchers`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from compensation import provenance, rules
from compensation.errors import N_, Conflict, InvalidInput, InvalidTransition, NotFound
from compensation.models import (
    Batch,
    BatchLine,
    BatchState,
    Contribution,
    IntakeLeftOut,
    IntakeRejection,
    LeftOut,
    Policy,
    PolicyKind,
    canonical,
)
from compensation.schemas import CouponRules, FeeRefundRules, Rules
from incidents.common import audit
from incidents.models import Incident
from incidents.rules import CLOSED_INCIDENT_STATUSES

_RULES: TypeAdapter[FeeRefundRules | CouponRules] = TypeAdapter(Rules)
# Rejections kept per batch for the report; past this they are only counted.
REJECTIONS_KEPT = 10_000

Aggregate = dict[tuple[str, str], list[Any]]  # (account, asset) -> [fees, volume, events]
_LINES = cast(Table, BatchLine.__table__)  # inserted with Core: no ORM bookkeeping per row


def empty_intake() -> dict[str, Any]:
    """A batch's intake before anything is taken: the counts, and the sources taken."""
    return {"accepted": 0, "rejected": 0, "ineligible": 0, "repeated": 0, "sources": []}


def parse_rules(data: dict[str, Any]) -> FeeRefundRules | CouponRules:
    return _RULES.validate_python(data)


def dump_rules(value: FeeRefundRules | CouponRules) -> dict[str, Any]:
    return value.model_dump(mode="json")


def batch_rules(batch: Batch) -> FeeRefundRules | CouponRules:
    return parse_rules(batch.rules)


# -- policies -----------------------------------------------------------------------------


async def get_policy(session: AsyncSession, *, policy_id: int) -> Policy:
    policy = await session.get(Policy, policy_id, populate_existing=True)
    if policy is None:
        raise NotFound(N_("policy %(id)s does not exist"), field="policy_id", id=policy_id)
    return policy


async def list_policies(session: AsyncSession) -> list[Policy]:
    return list((await session.scalars(select(Policy).order_by(Policy.id))).all())


async def create_policy(
    session: AsyncSession, *, name: str, value: FeeRefundRules | CouponRules, actor_id: int
) -> Policy:
    if await session.scalar(select(Policy.id).where(Policy.name == name)):
        raise Conflict(N_("a policy named %(name)r already exists"), field="name", name=name)
    policy = Policy(
        name=name, kind=PolicyKind(value.kind), rules=dump_rules(value), created_by=actor_id
    )
    session.add(policy)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.policy.create",
        entity_type="compensation_policy",
        entity_id=policy.id,
        after={"name": name, "version": 1, "rules": policy.rules},
    )
    return policy


async def update_policy(
    session: AsyncSession, *, policy_id: int, value: FeeRefundRules | CouponRules, actor_id: int
) -> Policy:
    """A new version; batches drafted earlier keep the version they were drafted with."""
    policy = await get_policy(session, policy_id=policy_id)
    if value.kind != policy.kind:
        raise InvalidInput(
            N_("policy %(id)s is a %(kind)s policy; make a new one for %(new)s"),
            field="rules.kind",
            id=policy_id,
            kind=policy.kind.value,
            new=value.kind,
        )
    before = {"version": policy.version, "rules": policy.rules}
    policy.rules = dump_rules(value)
    policy.version += 1
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.policy.update",
        entity_type="compensation_policy",
        entity_id=policy.id,
        before=before,
        after={"version": policy.version, "rules": policy.rules},
    )
    return policy


# -- batches ------------------------------------------------------------------------------


async def get_batch(session: AsyncSession, *, batch_id: int, lock: bool = False) -> Batch:
    """The batch; with `lock`, its row is held to the transaction's end (PostgreSQL)."""
    query = select(Batch).where(Batch.id == batch_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    batch = await session.scalar(query)
    if batch is None:
        raise NotFound(N_("batch %(batch_id)s does not exist"), field="batch_id", batch_id=batch_id)
    return batch


async def list_batches(
    session: AsyncSession, *, incident_id: int | None = None, state: BatchState | None = None
) -> list[Batch]:
    query = select(Batch).order_by(Batch.id.desc()).limit(200)
    if incident_id is not None:
        query = query.where(Batch.incident_id == incident_id)
    if state is not None:
        query = query.where(Batch.state == state)
    return list((await session.scalars(query)).all())


async def closed_incident(session: AsyncSession, *, incident_id: int) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise InvalidInput(
            N_("incident %(id)s does not exist"), field="incident_id", id=incident_id
        )
    # Compensation follows an incident that is over, with or without a postmortem written.
    if incident.status not in CLOSED_INCIDENT_STATUSES or incident.resolved_at is None:
        raise InvalidTransition(
            N_("incident %(id)s is %(status)s: compensation follows a resolved incident"),
            field="incident_id",
            id=incident_id,
            status=incident.status.value,
        )
    return incident


async def create_batch(
    session: AsyncSession, *, incident_id: int, policy_id: int, actor_id: int
) -> Batch:
    await closed_incident(session, incident_id=incident_id)
    policy = await session.get(Policy, policy_id)
    if policy is None:
        raise InvalidInput(N_("policy %(id)s does not exist"), field="policy_id", id=policy_id)
    await _refuse_a_second_live_batch(session, incident_id=incident_id, policy_id=policy_id)
    batch = Batch(
        incident_id=incident_id,
        policy_id=policy.id,
        policy_version=policy.version,
        policy_kind=policy.kind,
        rules=policy.rules,
        intake=empty_intake(),
        totals={},
        created_by=actor_id,
    )
    try:
        async with session.begin_nested():  # the unique index decides a race; we answer it
            session.add(batch)
            await session.flush()
    except IntegrityError:
        await _refuse_a_second_live_batch(session, incident_id=incident_id, policy_id=policy_id)
        raise
    await provenance.add_contributor(
        session, batch_id=batch.id, staff_id=actor_id, contribution=Contribution.created
    )
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.create",
        entity_type="compensation_batch",
        entity_id=batch.id,
        after={"incident_id": incident_id, "policy_id": policy.id, "version": policy.version},
    )
    return batch


async def _refuse_a_second_live_batch(
    session: AsyncSession, *, incident_id: int, policy_id: int
) -> None:
    live = await session.scalar(
        select(Batch.id).where(
            Batch.incident_id == incident_id,
            Batch.policy_id == policy_id,
            Batch.state != BatchState.cancelled,
        )
    )
    if live is not None:
        raise Conflict(
            N_(
                "batch %(live)s already compensates incident %(id)s under this policy; cancel it "
                "first or choose another policy"
            ),
            field="policy_id",
            live=live,
            id=incident_id,
        )


# -- lines --------------------------------------------------------------------------------


async def load_aggregate(session: AsyncSession, *, batch_id: int) -> Aggregate:
    rows = await session.execute(
        select(
            BatchLine.account_id,
            BatchLine.asset,
            BatchLine.fees,
            BatchLine.volume,
            BatchLine.events,
        ).where(BatchLine.batch_id == batch_id)
    )
    return {(row[0], row[1]): [row[2], row[3], row[4]] for row in rows}


async def write_lines(session: AsyncSession, *, batch: Batch, aggregate: Aggregate) -> None:
    """The batch's lines become the aggregate priced by its policy, with totals per asset."""
    value = batch_rules(batch)
    excluded = frozenset(value.exclusions)
    await session.execute(delete(BatchLine).where(BatchLine.batch_id == batch.id))
    # Written 5,000 at a time as they are priced: 400,000 lines held as row dicts at once
    # cost ~250 MB.
    priced: list[tuple[str, Decimal]] = []
    rows: list[dict[str, Any]] = []
    for (account_id, asset), (fees, volume, events) in aggregate.items():
        amount, note = rules.line_amount(
            value, asset=asset, fees=fees, volume=volume, excluded=account_id in excluded
        )
        priced.append((asset, amount))
        rows.append(
            {
                "batch_id": batch.id,
                "account_id": account_id,
                "asset": asset,
                "fees": fees,
                "volume": volume,
                "events": events,
                "amount": amount,
                "note": note,
            }
        )
        if len(rows) == 5000:
            await session.execute(insert(_LINES), rows)
            rows = []
    if rows:
        await session.execute(insert(_LINES), rows)
    # Statistics for the lines just written. Without them PostgreSQL plans issuing's
    # per-chunk query as if the batch had a hundred lines: a nested loop that read every
    # voucher for every line (minutes for 400,000 lines, where it takes seconds).
    await analyze(session, "compensation_lines")
    batch.totals = totals_json(rules.totals(priced, value.budget))


async def analyze(session: AsyncSession, table: str) -> None:
    """Fresh planner statistics for a table a bulk write just grew (PostgreSQL; SQLite plans
    by its indexes and needs none). Autovacuum would get there, minutes later."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {table}"))


def totals_json(found: dict[str, rules.AssetTotal]) -> dict[str, Any]:
    return {
        asset: {
            "accounts": total.accounts,
            "amount": format(canonical(total.amount), "f"),
            "budget": None if total.budget is None else format(canonical(total.budget), "f"),
            "over_budget": total.over_budget,
        }
        for asset, total in found.items()
    }


async def list_lines(
    session: AsyncSession,
    *,
    batch_id: int,
    after_account: str | None = None,
    account_id: str | None = None,
    limit: int = 100,
) -> list[BatchLine]:
    query = (
        select(BatchLine)
        .where(BatchLine.batch_id == batch_id)
        .order_by(BatchLine.account_id, BatchLine.asset)
        .limit(limit)
    )
    if after_account is not None:
        query = query.where(BatchLine.account_id > after_account)
    if account_id is not None:
        query = query.where(BatchLine.account_id == account_id)
    return list((await session.scalars(query)).all())


async def add_rejections(
    session: AsyncSession, *, batch_id: int, source: str, found: Sequence[tuple[int, str]]
) -> None:
    kept = await session.scalar(
        select(func.count())
        .select_from(IntakeRejection)
        .where(IntakeRejection.batch_id == batch_id)
    )
    room = max(0, REJECTIONS_KEPT - (kept or 0))
    rows = [
        {"batch_id": batch_id, "source": source, "line": line, "reason": reason[:1000]}
        for line, reason in found[:room]
    ]
    if rows:
        await session.execute(insert(IntakeRejection), rows)


async def list_rejections(
    session: AsyncSession, *, batch_id: int, limit: int = 500
) -> list[IntakeRejection]:
    query = (
        select(IntakeRejection)
        .where(IntakeRejection.batch_id == batch_id)
        .order_by(IntakeRejection.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def add_left_out(
    session: AsyncSession,
    *,
    batch_id: int,
    source: str,
    found: Sequence[tuple[int, str, LeftOut]],
) -> None:
    """The intake's left-out lines, kept up to REJECTIONS_KEPT per batch (then only counted)."""
    kept = await session.scalar(
        select(func.count()).select_from(IntakeLeftOut).where(IntakeLeftOut.batch_id == batch_id)
    )
    room = max(0, REJECTIONS_KEPT - (kept or 0))
    rows = [
        {"batch_id": batch_id, "source": source, "line": line, "account_id": account, "reason": why}
        for line, account, why in found[:room]
    ]
    if rows:
        await session.execute(insert(IntakeLeftOut), rows)


async def list_left_out(
    session: AsyncSession, *, batch_id: int, limit: int = 500, after_id: int = 0
) -> list[IntakeLeftOut]:
    query = (
        select(IntakeLeftOut)
        .where(IntakeLeftOut.batch_id == batch_id, IntakeLeftOut.id > after_id)
        .order_by(IntakeLeftOut.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def clear_intake(session: AsyncSession, *, batch: Batch, actor_id: int) -> None:
    rules.check_editable(batch.state)
    await session.execute(delete(BatchLine).where(BatchLine.batch_id == batch.id))
    await session.execute(delete(IntakeRejection).where(IntakeRejection.batch_id == batch.id))
    await session.execute(delete(IntakeLeftOut).where(IntakeLeftOut.batch_id == batch.id))
    before = dict(batch.intake)
    await provenance.forget_events(session, batch_id=batch.id)
    batch.intake = empty_intake()
    batch.totals = totals_json(rules.totals([], batch_rules(batch).budget))
    await provenance.add_contributor(
        session, batch_id=batch.id, staff_id=actor_id, contribution=Contribution.cleared_intake
    )
    await audit.record(
        session,
        actor_id=actor_id,
        action="compensation.batch.clear_intake",
        entity_type="compensation_batch",
        entity_id=batch.id,
        before=before,
    )
