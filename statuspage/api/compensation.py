"""The finance JSON API under /api/staff/compensation/: thin handlers over compensation flows."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from compensation import exports, flows, intake_flows, redemption, service, vouchers
from compensation.models import Batch, BatchState, Voucher, VoucherState
from compensation.schemas import (
    AccountsIn,
    BatchIn,
    BatchOut,
    LineOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ReasonIn,
    RedeemIn,
    RejectionOut,
    VoucherOut,
)
from incidents.common.db_types import utcnow
from incidents.common.staff import FINANCE, FINANCE_OR_PLATFORM, StaffRole
from statuspage.access.tokens import Forbidden
from statuspage.api.routing import Call, Endpoint

# The exchange platform redeems vouchers and looks up one account's; nothing else.
_ID = Annotated[int, Field(ge=1, le=2**31 - 1)]
_Account = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchQuery(_Query):
    incident_id: _ID | None = None
    state: BatchState | None = None


class LineQuery(_Query):
    account_id: _Account | None = None
    after_account: _Account | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class RejectionQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=10_000)] = 500


class VoucherQuery(_Query):
    account_id: _Account | None = None
    batch_id: _ID | None = None
    state: VoucherState | None = None
    after_id: _ID | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class VoidIn(ReasonIn):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ReconciliationRow(BaseModel):
    asset: str
    counts: dict[str, int]
    amounts: dict[str, str]


# -- serializers --------------------------------------------------------------------------


def batch_out(batch: Batch) -> BatchOut:
    return BatchOut.model_validate({name: getattr(batch, name) for name in BatchOut.model_fields})


def voucher_out(voucher: Voucher) -> VoucherOut:
    data: dict[str, Any] = {
        name: getattr(voucher, name) for name in VoucherOut.model_fields if name != "expired"
    }
    return VoucherOut.model_validate({**data, "expired": vouchers.is_expired(voucher, utcnow())})


# -- policies -----------------------------------------------------------------------------


async def list_policies(call: Call) -> list[PolicyOut]:
    return [PolicyOut.model_validate(p) for p in await service.list_policies(call.session)]


async def create_policy(call: Call) -> PolicyOut:
    body: PolicyIn = call.body
    policy = await service.create_policy(
        call.session, name=body.name, value=body.rules, actor_id=call.principal.staff_id
    )
    return PolicyOut.model_validate(policy)


async def get_policy(call: Call) -> PolicyOut:
    policy = await service.get_policy(call.session, policy_id=call.path["policy_id"])
    return PolicyOut.model_validate(policy)


async def update_policy(call: Call) -> PolicyOut:
    body: PolicyPatch = call.body
    policy = await service.update_policy(
        call.session,
        policy_id=call.path["policy_id"],
        value=body.rules,
        actor_id=call.principal.staff_id,
    )
    return PolicyOut.model_validate(policy)


# -- batches ------------------------------------------------------------------------------


async def list_batches(call: Call) -> list[BatchOut]:
    query: BatchQuery = call.query
    found = await service.list_batches(
        call.session, incident_id=query.incident_id, state=query.state
    )
    return [batch_out(batch) for batch in found]


async def create_batch(call: Call) -> BatchOut:
    body: BatchIn = call.body
    batch = await service.create_batch(
        call.session,
        incident_id=body.incident_id,
        policy_id=body.policy_id,
        actor_id=call.principal.staff_id,
    )
    return batch_out(batch)


async def get_batch(call: Call) -> BatchOut:
    return batch_out(await service.get_batch(call.session, batch_id=call.path["batch_id"]))


async def list_lines(call: Call) -> list[LineOut]:
    query: LineQuery = call.query
    batch = await service.get_batch(call.session, batch_id=call.path["batch_id"])
    lines = await service.list_lines(
        call.session,
        batch_id=batch.id,
        account_id=query.account_id,
        after_account=query.after_account,
        limit=query.limit,
    )
    return [LineOut.model_validate(line) for line in lines]


async def list_rejections(call: Call) -> list[RejectionOut]:
    query: RejectionQuery = call.query
    batch = await service.get_batch(call.session, batch_id=call.path["batch_id"])
    found = await service.list_rejections(call.session, batch_id=batch.id, limit=query.limit)
    return [RejectionOut.model_validate(rejection) for rejection in found]


async def add_accounts(call: Call) -> BatchOut:
    body: AccountsIn = call.body
    plan = await intake_flows.plan_intake(call.session, batch_id=call.path["batch_id"])
    collected = intake_flows.collect_accounts(plan, body.account_ids)
    batch = await intake_flows.commit_intake(
        call.session,
        plan=plan,
        collected=collected,
        source="pasted accounts",
        digest=None,
        actor_id=call.principal.staff_id,
    )
    return batch_out(batch)


async def clear_intake(call: Call) -> BatchOut:
    batch = await service.get_batch(call.session, batch_id=call.path["batch_id"], lock=True)
    await service.clear_intake(call.session, batch=batch, actor_id=call.principal.staff_id)
    return batch_out(batch)


async def refresh_policy(call: Call) -> BatchOut:
    batch = await flows.refresh_policy(
        call.session, batch_id=call.path["batch_id"], actor_id=call.principal.staff_id
    )
    return batch_out(batch)


async def approve(call: Call) -> BatchOut:
    batch = await flows.approve(
        call.session, batch_id=call.path["batch_id"], actor_id=call.principal.staff_id
    )
    return batch_out(batch)


async def cancel(call: Call) -> BatchOut:
    body: ReasonIn = call.body
    batch = await flows.cancel(
        call.session,
        batch_id=call.path["batch_id"],
        reason=body.reason,
        actor_id=call.principal.staff_id,
    )
    return batch_out(batch)


async def mark_delivered(call: Call) -> BatchOut:
    body: ReasonIn = call.body
    batch = await flows.mark_delivered(
        call.session,
        batch_id=call.path["batch_id"],
        note=body.reason,
        actor_id=call.principal.staff_id,
    )
    return batch_out(batch)


async def reconciliation(call: Call) -> list[ReconciliationRow]:
    batch = await service.get_batch(call.session, batch_id=call.path["batch_id"])
    found = await exports.reconciliation(call.session, batch_id=batch.id, now=utcnow())
    return [
        ReconciliationRow(
            asset=asset,
            counts={state: tally.count for state, tally in tallies.items()},
            amounts={state: format(tally.amount, "f") for state, tally in tallies.items()},
        )
        for asset, tallies in found.items()
    ]


# -- vouchers -----------------------------------------------------------------------------


async def list_vouchers(call: Call) -> list[VoucherOut]:
    query: VoucherQuery = call.query
    if call.principal.role == StaffRole.platform and (
        query.account_id is None or query.batch_id is not None
    ):
        raise Forbidden("the platform role lists vouchers by account_id only", field="account_id")
    found = await vouchers.list_vouchers(call.session, **query.model_dump(exclude_none=True))
    return [voucher_out(voucher) for voucher in found]


async def void_voucher(call: Call) -> VoucherOut:
    body: VoidIn = call.body
    found = await vouchers.voucher_by_code(call.session, code=body.code)
    voucher = await flows.void(
        call.session, voucher_id=found.id, reason=body.reason, actor_id=call.principal.staff_id
    )
    return voucher_out(voucher)


async def redeem(call: Call) -> VoucherOut:
    body: RedeemIn = call.body
    voucher = await redemption.redeem(
        call.session,
        code=body.code,
        account_id=body.account_id,
        reference=body.reference,
        actor_id=call.principal.staff_id,
        now=utcnow(),
    )
    return voucher_out(voucher)


def _e(
    method: str,
    path: str,
    handler: Any,
    summary: str,
    roles: frozenset[StaffRole] = FINANCE,
    **options: Any,
) -> Endpoint:
    return Endpoint(
        method, "/compensation" + path, handler, roles, summary, tags=("compensation",), **options
    )


_B = "/batches/{batch_id}"
ENDPOINTS: list[Endpoint] = [
    _e("GET", "/policies", list_policies, "compensation policies", response=list[PolicyOut]),
    _e(
        "POST",
        "/policies",
        create_policy,
        "create a policy",
        body=PolicyIn,
        response=PolicyOut,
        status_code=201,
    ),
    _e("GET", "/policies/{policy_id}", get_policy, "one policy", response=PolicyOut),
    _e(
        "PATCH",
        "/policies/{policy_id}",
        update_policy,
        "a new version of a policy",
        body=PolicyPatch,
        response=PolicyOut,
    ),
    _e(
        "GET",
        "/batches",
        list_batches,
        "batches, newest first",
        query=BatchQuery,
        response=list[BatchOut],
    ),
    _e(
        "POST",
        "/batches",
        create_batch,
        "draft a batch for a resolved incident",
        body=BatchIn,
        response=BatchOut,
        status_code=201,
    ),
    _e("GET", _B, get_batch, "a batch with its totals per asset", response=BatchOut),
    _e(
        "GET",
        _B + "/lines",
        list_lines,
        "the per-account preview",
        query=LineQuery,
        response=list[LineOut],
    ),
    _e(
        "GET",
        _B + "/rejections",
        list_rejections,
        "intake lines refused, with reasons",
        query=RejectionQuery,
        response=list[RejectionOut],
    ),
    _e(
        "POST",
        _B + "/accounts",
        add_accounts,
        "add pasted accounts (fixed coupon)",
        body=AccountsIn,
        response=BatchOut,
    ),
    _e(
        "DELETE",
        _B + "/intake",
        clear_intake,
        "forget every account taken so far",
        response=BatchOut,
    ),
    _e(
        "POST",
        _B + "/refresh-policy",
        refresh_policy,
        "take the policy's newest version",
        response=BatchOut,
    ),
    _e("POST", _B + "/approve", approve, "approve (not by the batch's creator)", response=BatchOut),
    _e("POST", _B + "/cancel", cancel, "cancel before issue", body=ReasonIn, response=BatchOut),
    _e(
        "POST",
        _B + "/mark-delivered",
        mark_delivered,
        "record that the back office credited the exported vouchers",
        body=ReasonIn,
        response=BatchOut,
    ),
    _e(
        "GET",
        _B + "/reconciliation",
        reconciliation,
        "issued, delivered, redeemed, voided, expired per asset",
        response=list[ReconciliationRow],
    ),
    _e(
        "GET",
        "/vouchers",
        list_vouchers,
        "vouchers, by account or batch (the platform role: by account only)",
        FINANCE_OR_PLATFORM,
        query=VoucherQuery,
        response=list[VoucherOut],
    ),
    _e(
        "POST",
        "/vouchers/void",
        void_voucher,
        "void a voucher with a reason",
        body=VoidIn,
        response=VoucherOut,
    ),
    _e(
        "POST",
        "/vouchers/redeem",
        redeem,
        "redeem a voucher for its account (idempotent)",
        FINANCE_OR_PLATFORM,
        body=RedeemIn,
        response=VoucherOut,
    ),
]
