"""Console pages for finance: policies, draft batches, approval by a second user, issue, void."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from compensation import flows, issuing, service, vouchers
from compensation.errors import DomainError
from compensation.events import EventKind
from compensation.models import Batch, BatchState, Voucher
from compensation.schemas import PolicyIn
from incidents.common.staff import FINANCE, Staff
from incidents.models import Incident
from incidents.rules import CLOSED_INCIDENT_STATUSES
from statuspage.console import exports
from statuspage.console import intake as console_intake
from statuspage.console.kit import Console, Page, route
from statuspage.console.posted import FormError, parse

LINES_SHOWN = 100
REJECTIONS_SHOWN = 100
VOUCHERS_SHOWN = 200
_BATCH_FIELDS = {"file", "note", "reason", "code"}


def routes() -> list[Page]:
    batch = "/finance/batches/{batch_id:id}"
    return [
        route("/finance", finance_page, FINANCE),
        route("/finance/policies", create_policy, FINANCE, methods=["POST"]),
        route("/finance/batches", create_batch, FINANCE, methods=["POST"]),
        route(batch, batch_page, FINANCE),
        route(batch + "/events", _upload_events, FINANCE, methods=["POST"], upload=True),
        route(batch + "/approve", approve, FINANCE, methods=["POST"]),
        route(batch + "/issue", issue, FINANCE, methods=["POST"]),
        route(batch + "/cancel", cancel, FINANCE, methods=["POST"]),
        route(batch + "/void", void, FINANCE, methods=["POST"]),
        route(batch + "/clear", clear_intake, FINANCE, methods=["POST"]),
        route(batch + "/delivered", mark_delivered, FINANCE, methods=["POST"]),
        route(batch + "/vouchers.csv", exports.vouchers, FINANCE),
        route(batch + "/reconciliation.csv", exports.reconciliation, FINANCE),
    ]


# -- the overview: policies and batches ---------------------------------------------------


async def finance_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    async def load(db: AsyncSession) -> dict[str, Any]:
        resolved = await db.scalars(
            select(Incident)
            .where(Incident.status.in_(CLOSED_INCIDENT_STATUSES))
            .order_by(Incident.resolved_at.desc())
            .limit(100)
        )
        return {
            "policies": await service.list_policies(db),
            "batches": await service.list_batches(db),
            "incidents": list(resolved),
        }

    return console.render(
        "finance.html",
        status=status,
        event_kinds=list(EventKind),
        **await console.read(load),
        **values,
    )


def _pairs(text: str, field: str) -> dict[str, str]:
    """`USDT=100, BTC=0.001` into {"USDT": "100", "BTC": "0.001"}."""
    found: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        asset, sign, amount = part.partition("=")
        if not sign or not asset.strip() or not amount.strip():
            raise FormError({field: f"write amounts as ASSET=amount, e.g. USDT=100 (not {part!r})"})
        found[asset.strip().upper()] = amount.strip()
    return found


def _policy_rules(console: Console) -> dict[str, Any]:
    kind = console.field("kind")
    rules: dict[str, Any] = {
        "kind": kind,
        "event_kinds": console.fields("event_kinds"),
        "grace_before_minutes": console.field("grace_before_minutes") or "0",
        "grace_after_minutes": console.field("grace_after_minutes") or "0",
        "exclusions": console.field("exclusions").split(),
        "budget": _pairs(console.field("budget"), "budget"),
        "validity_days": console.field("validity_days") or "90",
    }
    if kind == "coupon":
        rules["asset"] = console.field("asset").upper()
        rules["amount"] = console.field("amount") or None
    else:
        rules["percent"] = console.field("percent") or None
        rules["per_account_cap"] = _pairs(console.field("per_account_cap"), "per_account_cap")
        rules["minimum_payout"] = _pairs(console.field("minimum_payout"), "minimum_payout")
    return rules


def _short_names(error: FormError) -> FormError:
    """`rules.fee_refund.percent` → `percent`: the form's own field names."""
    named: dict[str, str] = {}
    for name, text in error.errors.items():
        parts = name.split(".")
        short = parts[2] if parts[0] == "rules" and len(parts) > 2 else parts[0]
        if parts[0] == "rules" and len(parts) <= 2:
            short = text.split(":", 1)[0] if ":" in text else "kind"
        named.setdefault(short, text)
    return FormError(named, error.status)


async def create_policy(console: Console) -> Response:
    try:
        try:
            body = parse(PolicyIn, {"name": console.field("name"), "rules": _policy_rules(console)})
        except FormError as error:
            raise _short_names(error) from error
        assert isinstance(body, PolicyIn)
        await console.write(
            lambda db: service.create_policy(
                db, name=body.name, value=body.rules, actor_id=console.staffer.id
            )
        )
    except FormError as error:
        entered = {name: console.field(name) for name in console.form}
        return await finance_page(
            console, status=error.status, errors=error.errors, policy_form=entered
        )
    return console.redirect("/staff/finance", done="policy_created")


async def create_batch(console: Console) -> Response:
    try:
        incident_id, policy_id = console.field("incident_id"), console.field("policy_id")
        if not incident_id.isdigit() or not policy_id.isdigit():
            raise FormError({"batch": "choose a resolved incident and a policy"})
        batch = await console.write(
            lambda db: service.create_batch(
                db,
                incident_id=int(incident_id),
                policy_id=int(policy_id),
                actor_id=console.staffer.id,
            )
        )
    except FormError as error:
        errors = {"batch": " ".join(error.errors.values())}
        return await finance_page(console, status=error.status, errors=errors)
    return console.redirect(f"/staff/finance/batches/{batch.id}", done="batch_created")


# -- one batch ----------------------------------------------------------------------------


async def _upload_events(console: Console) -> Response:
    try:
        uploaded = await console_intake.upload(console)
    except FormError as error:
        return await batch_page(console, status=error.status, errors=error.errors)
    return await batch_page(console, uploaded=uploaded)


async def batch_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    batch_id = console.id("batch_id")
    after = console.request.query_params.get("after_account", "")[:64] or None

    async def load(db: AsyncSession) -> dict[str, Any]:
        batch = await service.get_batch(db, batch_id=batch_id)
        people = {person.id: person for person in (await db.scalars(select(Staff))).all()}
        return {
            "batch": batch,
            "incident": await db.get(Incident, batch.incident_id),
            "policy": await service.get_policy(db, policy_id=batch.policy_id),
            "people": people,
            "lines": await service.list_lines(
                db, batch_id=batch_id, after_account=after, limit=LINES_SHOWN
            ),
            "rejections": await service.list_rejections(
                db, batch_id=batch_id, limit=REJECTIONS_SHOWN
            ),
            "vouchers": await vouchers.list_vouchers(db, batch_id=batch_id, limit=VOUCHERS_SHOWN),
            "four_eyes": await _four_eyes(db, batch, console.staffer.id),
        }

    loaded = await console.read(load)
    batch: Batch = loaded["batch"]
    return console.render(
        "batch.html",
        status=status,
        editable=batch.state == BatchState.draft,
        lines_shown=LINES_SHOWN,
        **loaded,
        **values,
    )


async def _four_eyes(db: AsyncSession, batch: Batch, staff_id: int) -> str | None:
    """Who prepared a draft sees Approve disabled, with the reason the server would give."""
    if batch.state != BatchState.draft:
        return None
    return await flows.four_eyes_refusal(db, batch=batch, staff_id=staff_id)


async def _act(console: Console, work: Any, done: str) -> Response:
    """Runs one batch action; its error is shown at the top of the batch page."""
    batch_id = console.id("batch_id")
    try:
        await work(batch_id)
    except FormError as error:
        shown = dict(error.errors)
        if not shown.keys() & _BATCH_FIELDS:  # no field of its own: at the top of the page
            shown = {"": " ".join(shown.values())}
        return await batch_page(console, status=error.status, errors=shown)
    return console.redirect(f"/staff/finance/batches/{batch_id}", done=done)


async def approve(console: Console) -> Response:
    async def work(batch_id: int) -> object:
        return await console.write(
            lambda db: flows.approve(db, batch_id=batch_id, actor_id=console.staffer.id)
        )

    return await _act(console, work, "approved")


async def issue(console: Console) -> Response:
    """Issues in chunks, each committed: a second click or a crash resumes, never doubles."""

    async def work(batch_id: int) -> object:
        try:
            batch = await issuing.issue(
                console.database.sessionmaker,
                batch_id=batch_id,
                actor_id=console.staffer.id,
                credit=bool(console.settings.credit_api_url),
            )
        except DomainError as error:
            raise FormError.of(error) from error
        await console.services.bell.ring()  # the credit worker sends them, wherever it runs
        return batch

    return await _act(console, work, "issued")


async def cancel(console: Console) -> Response:
    reason = console.field("reason")

    async def work(batch_id: int) -> object:
        if not reason:
            raise FormError({"reason": "say why the batch is cancelled"})
        return await console.write(
            lambda db: flows.cancel(
                db, batch_id=batch_id, reason=reason, actor_id=console.staffer.id
            )
        )

    return await _act(console, work, "cancelled")


async def clear_intake(console: Console) -> Response:
    """Empties a draft's lines and rejections, to load the events again (say, after a fix)."""

    async def work(batch_id: int) -> object:
        async def clear(db: AsyncSession) -> None:
            batch = await service.get_batch(db, batch_id=batch_id, lock=True)
            await service.clear_intake(db, batch=batch, actor_id=console.staffer.id)

        return await console.write(clear)

    return await _act(console, work, "intake_cleared")


async def mark_delivered(console: Console) -> Response:
    """Without a credit API the CSV is the delivery: finance records that it was credited."""
    note = console.field("note")

    async def work(batch_id: int) -> object:
        if not note:
            raise FormError({"note": "say how the vouchers were credited"})
        return await console.write(
            lambda db: flows.mark_delivered(
                db, batch_id=batch_id, note=note[:500], actor_id=console.staffer.id
            )
        )

    return await _act(console, work, "delivered")


async def void(console: Console) -> Response:
    code, reason = console.field("code"), console.field("reason")

    async def work(batch_id: int) -> object:
        if not reason:
            raise FormError({"reason": "say why the voucher is void"})

        async def void_in(db: AsyncSession) -> Voucher:
            found = await vouchers.voucher_by_code(db, code=code, batch_id=batch_id)
            return await flows.void(
                db, voucher_id=found.id, reason=reason[:500], actor_id=console.staffer.id
            )

        return await console.write(void_in)

    return await _act(console, work, "voided")
