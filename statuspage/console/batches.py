"""One compensation batch in the console: its page (scope, intake, lines, vouchers) and the
actions on it, the one-way ones (issue, cancel, void) confirmed first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from compensation import flows, issuing, scope, service, vouchers
from compensation.assets import SCALES
from compensation.errors import DomainError
from compensation.models import Batch, BatchState, Voucher
from incidents.common.staff import Staff
from incidents.models import Incident
from statuspage.console import confirm
from statuspage.console.kit import Console
from statuspage.console.posted import FormError
from statuspage.console.refusals import domain_message, stored_reason
from statuspage.console.words import gettext

LINES_SHOWN = 100
REPORT_SHOWN = 100  # refused and left-out lines shown on the page; the CSVs have them all
VOUCHERS_SHOWN = 200
_BATCH_FIELDS = {"file", "note", "reason", "code", "account_ids", "params"}


def _(message: str) -> str:
    """Marks a message of this code for the catalogue; `say` gives it in the staffer's words."""
    return message


def say(console: Console, message: str, **params: object) -> str:
    return gettext(console.language, message, **params)


def intake_counts(intake: dict[str, Any]) -> dict[str, int]:
    """The domain counts a left-out event among the accepted ones; finance sees them apart."""
    left_out = int(intake.get("ineligible", 0))
    return {
        "accepted": int(intake.get("accepted", 0)) - left_out,
        "left_out": left_out,
        "refused": int(intake.get("rejected", 0)),
        "repeated": int(intake.get("repeated", 0)),
    }


async def _load(db: AsyncSession, batch_id: int, after: str | None, staff_id: int) -> Any:
    batch = await service.get_batch(db, batch_id=batch_id)
    people = {person.id: person for person in (await db.scalars(select(Staff))).all()}
    return {
        "batch": batch,
        "incident": await db.get(Incident, batch.incident_id),
        "policy": await service.get_policy(db, policy_id=batch.policy_id),
        "scope": await scope.batch_scope(db, batch=batch),
        "people": people,
        "lines": await service.list_lines(
            db, batch_id=batch_id, after_account=after, limit=LINES_SHOWN
        ),
        "rejections": await service.list_rejections(db, batch_id=batch_id, limit=REPORT_SHOWN),
        "left_out": await service.list_left_out(db, batch_id=batch_id, limit=REPORT_SHOWN),
        "vouchers": await vouchers.list_vouchers(db, batch_id=batch_id, limit=VOUCHERS_SHOWN),
        "four_eyes": await _four_eyes(db, batch, staff_id),
    }


async def batch_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    batch_id = console.id("batch_id")
    after = console.request.query_params.get("after_account", "")[:64] or None
    loaded = await console.read(lambda db: _load(db, batch_id, after, console.staffer.id))
    batch: Batch = loaded["batch"]
    return console.render(
        "batch.html",
        status=status,
        editable=batch.state == BatchState.draft,
        counts=intake_counts(batch.intake),
        lines_shown=LINES_SHOWN,
        report_shown=REPORT_SHOWN,
        can_pull=bool(console.settings.platform_events_url),
        known_assets=sorted(SCALES),
        refused_why=partial(stored_reason, console.language),  # the line's reason, in words
        **loaded,
        **values,
    )


async def _four_eyes(db: AsyncSession, batch: Batch, staff_id: int) -> str | None:
    """Who prepared a draft sees no Approve button but the reason the server would give:
    what they did to it, which the page words."""
    if batch.state != BatchState.draft:
        return None
    did = await flows.four_eyes_contribution(db, batch=batch, staff_id=staff_id)
    return did.value if did else None


def batch_url(batch_id: int) -> str:
    return f"/staff/finance/batches/{batch_id}"


async def act(console: Console, work: Callable[[int], Awaitable[object]], done: str) -> Response:
    """Runs one batch action; its error is shown at the top of the batch page."""
    batch_id = console.id("batch_id")
    try:
        await work(batch_id)
    except FormError as error:
        shown = dict(error.errors)
        if not shown.keys() & _BATCH_FIELDS:  # no field of its own: at the top of the page
            shown = {"": " ".join(shown.values())}
        return await batch_page(console, status=error.status, errors=shown)
    return console.redirect(batch_url(batch_id), done=done)


async def _ask(console: Console, what: str, batch_id: int) -> Response:
    """The confirmation page, naming the batch as the overview lists it."""

    async def name(db: AsyncSession) -> str:
        batch = await service.get_batch(db, batch_id=batch_id)
        incident = await db.get(Incident, batch.incident_id)
        policy = await service.get_policy(db, policy_id=batch.policy_id)
        return f"{incident.name if incident else batch.incident_id} · {policy.name}"

    named = await console.read(name)
    return confirm.ask(console, what, back=batch_url(batch_id), name=named)


async def approve(console: Console) -> Response:
    async def work(batch_id: int) -> object:
        return await console.write(
            lambda db: flows.approve(db, batch_id=batch_id, actor_id=console.staffer.id)
        )

    return await act(console, work, "approved")


async def issue(console: Console) -> Response:
    """Issues in chunks, each committed: a second click or a crash resumes, never doubles."""
    if not confirm.is_confirmed(console):
        return await _ask(console, "issue", console.id("batch_id"))

    async def work(batch_id: int) -> object:
        try:
            batch = await issuing.issue(
                console.database.sessionmaker,
                batch_id=batch_id,
                actor_id=console.staffer.id,
                credit=bool(console.settings.credit_api_url),
                chunk=console.settings.issue_chunk_vouchers,
            )
        except DomainError as error:
            raise FormError.of(error, console.language) from error
        await console.services.bell.ring()  # the credit worker sends them, wherever it runs
        return batch

    return await act(console, work, "issued")


async def cancel(console: Console) -> Response:
    reason = console.field("reason")
    if reason and not confirm.is_confirmed(console):
        return await _ask(console, "cancel", console.id("batch_id"))

    async def work(batch_id: int) -> object:
        if not reason:
            raise FormError({"reason": say(console, _("say why the batch is cancelled"))})
        return await console.write(
            lambda db: flows.cancel(
                db, batch_id=batch_id, reason=reason, actor_id=console.staffer.id
            )
        )

    return await act(console, work, "cancelled")


async def refresh_policy(console: Console) -> Response:
    """Takes the policy's newest version into the draft (its lines priced again)."""

    async def work(batch_id: int) -> object:
        return await console.write(
            lambda db: flows.refresh_policy(db, batch_id=batch_id, actor_id=console.staffer.id)
        )

    return await act(console, work, "policy_refreshed")


async def clear_intake(console: Console) -> Response:
    """Empties a draft's lines and reports, to load the events again (say, after a fix)."""

    async def work(batch_id: int) -> object:
        async def clear(db: AsyncSession) -> None:
            batch = await service.get_batch(db, batch_id=batch_id, lock=True)
            await service.clear_intake(db, batch=batch, actor_id=console.staffer.id)

        return await console.write(clear)

    return await act(console, work, "intake_cleared")


async def mark_delivered(console: Console) -> Response:
    """Without a credit API the CSV is the delivery: finance records that it was credited."""
    note = console.field("note")

    async def work(batch_id: int) -> object:
        if not note:
            raise FormError({"note": say(console, _("say how the vouchers were credited"))})
        return await console.write(
            lambda db: flows.mark_delivered(
                db, batch_id=batch_id, note=note[:500], actor_id=console.staffer.id
            )
        )

    return await act(console, work, "delivered")


async def void(console: Console) -> Response:
    code, reason = console.field("code"), console.field("reason")
    batch_id = console.id("batch_id")
    if code and reason and not confirm.is_confirmed(console):
        try:
            found = await console.read(
                lambda db: vouchers.voucher_by_code(db, code=code, batch_id=batch_id)
            )
        except DomainError as error:
            errors = {"code": domain_message(console.language, error)}
            return await batch_page(console, status=error.status_code, errors=errors)
        named = f"{found.code} · {found.account_id} · {found.amount} {found.asset}"
        return confirm.ask(console, "void", back=batch_url(batch_id), name=named)

    async def work(batch_id: int) -> object:
        if not reason:
            raise FormError({"reason": say(console, _("say why the voucher is void"))})

        async def void_in(db: AsyncSession) -> Voucher:
            found = await vouchers.voucher_by_code(db, code=code, batch_id=batch_id)
            return await flows.void(
                db, voucher_id=found.id, reason=reason[:500], actor_id=console.staffer.id
            )

        return await console.write(void_in)

    return await act(console, work, "voided")
