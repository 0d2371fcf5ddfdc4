"""Console pages for admins: staff accounts and roles, API tokens, and the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents.common import audit
from incidents.common.staff import ADMIN, StaffRole
from statuspage.access import second_factor, staff_accounts
from statuspage.access import tokens as auth
from statuspage.console.kit import Console, Page, route
from statuspage.console.posted import FormError

AUDIT_PAGE = 50


def routes() -> list[Page]:
    return [
        route("/admin/staff", staff_page, ADMIN),
        route("/admin/staff", create_staff, ADMIN, methods=["POST"]),
        route("/admin/staff/{staff_id:id}/role", change_role, ADMIN, methods=["POST"]),
        route("/admin/staff/{staff_id:id}/active", set_active, ADMIN, methods=["POST"]),
        route("/admin/staff/{staff_id:id}/password", reset_password, ADMIN, methods=["POST"]),
        route(
            "/admin/staff/{staff_id:id}/second-factor",
            reset_second_factor,
            ADMIN,
            methods=["POST"],
        ),
        route("/admin/tokens", tokens_page, ADMIN),
        route("/admin/tokens", create_token, ADMIN, methods=["POST"]),
        route("/admin/tokens/{token_id:id}/revoke", revoke_token, ADMIN, methods=["POST"]),
        route("/admin/audit", audit_page, ADMIN),
    ]


# -- staff --------------------------------------------------------------------------------


async def staff_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    people = await console.read(staff_accounts.list_staff)
    return console.render(
        "admin_staff.html",
        status=status,
        people=people,
        roles=list(StaffRole),
        enrolled=await console.read(second_factor.enrolled_ids),
        required=console.settings.second_factor_roles(),
        **values,
    )


def _role(console: Console) -> StaffRole:
    try:
        return StaffRole(console.field("role"))
    except ValueError as error:
        choose = console.say("choose support, finance, admin or platform")
        raise FormError({"role": choose}) from error


async def create_staff(console: Console) -> Response:
    async def work(db: AsyncSession) -> None:
        role = _role(console)
        if role == StaffRole.platform and console.field("password"):
            raise staff_accounts.TokenOnly  # refused before the account exists
        staff = await auth.create_staff(
            db,
            email=console.field("email"),
            name=console.field("name") or console.field("email"),
            role=role,
            actor_id=console.staffer.id,
        )
        if console.field("password"):
            await staff_accounts.set_password(
                db,
                staff_id=staff.id,
                password=console.field("password"),
                actor_id=console.staffer.id,
            )

    try:
        await console.write(work)
    except FormError as error:
        return await staff_page(
            console, status=error.status, errors=error.errors, entered=dict(console.form)
        )
    return console.redirect("/staff/admin/staff", done="staff_created")


async def _change(console: Console, change: Any, *, done: str = "staff_changed") -> Response:
    try:
        await console.write(change)
    except FormError as error:
        return await staff_page(console, status=error.status, errors=error.errors)
    return console.redirect("/staff/admin/staff", done=done)


async def change_role(console: Console) -> Response:
    staff_id = console.id("staff_id")

    async def work(db: AsyncSession) -> object:
        return await staff_accounts.change_role(
            db, staff_id=staff_id, role=_role(console), actor_id=console.staffer.id
        )

    return await _change(console, work)


async def set_active(console: Console) -> Response:
    staff_id, active = console.id("staff_id"), console.field("active") == "true"

    async def work(db: AsyncSession) -> object:
        return await staff_accounts.set_active(
            db, staff_id=staff_id, active=active, actor_id=console.staffer.id
        )

    return await _change(console, work)


async def reset_password(console: Console) -> Response:
    staff_id = console.id("staff_id")

    async def work(db: AsyncSession) -> object:
        return await staff_accounts.set_password(
            db, staff_id=staff_id, password=console.field("password"), actor_id=console.staffer.id
        )

    return await _change(console, work)


async def reset_second_factor(console: Console) -> Response:
    """A colleague lost their phone: their factor goes, they are signed out everywhere, and
    they enrol a new one at their next sign-in."""
    staff_id = console.id("staff_id")

    async def work(db: AsyncSession) -> object:
        return await second_factor.reset(db, staff_id=staff_id, actor_id=console.staffer.id)

    return await _change(console, work, done="second_factor_reset")


# -- API tokens ---------------------------------------------------------------------------


async def tokens_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    tokens = await console.read(staff_accounts.list_tokens)
    people = await console.read(staff_accounts.list_staff)
    return console.render(
        "admin_tokens.html", status=status, tokens=tokens, people=people, **values
    )


async def create_token(console: Console) -> Response:
    """The new token is shown on this one response, never again (no redirect to lose it)."""
    raw_id = console.field("staff_id")

    async def work(db: AsyncSession) -> str:
        if not raw_id.isdigit():
            raise FormError({"staff_id": console.say("choose a staff member")})
        staff = await staff_accounts.get_staff(db, staff_id=int(raw_id))
        name = console.field("name") or "console"
        _, plain = await auth.create_token(
            db, staff=staff, name=name[:200], actor_id=console.staffer.id
        )
        return plain

    try:
        plain = await console.write(work)
    except FormError as error:
        return await tokens_page(console, status=error.status, errors=error.errors)
    return await tokens_page(console, created=plain)


async def revoke_token(console: Console) -> Response:
    token_id = console.id("token_id")

    async def work(db: AsyncSession) -> object:
        return await staff_accounts.revoke_token(db, token_id=token_id, actor_id=console.staffer.id)

    try:
        await console.write(work)
    except FormError as error:
        return await tokens_page(console, status=error.status, errors=error.errors)
    return console.redirect("/staff/admin/tokens", done="token_revoked")


# -- the audit log ------------------------------------------------------------------------


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 2**31 - 1 else None


async def audit_page(console: Console) -> Response:
    query = console.request.query_params

    async def load(db: AsyncSession) -> list[audit.AuditEntry]:
        return await audit.list_entries(
            db,
            action=query.get("action", "").strip()[:64] or None,
            entity_type=query.get("entity_type", "").strip()[:64] or None,
            entity_id=_number(query.get("entity_id", "")),
            actor_id=_number(query.get("actor_id", "")),
            before_id=_number(query.get("before_id", "")),
            limit=AUDIT_PAGE,
        )

    entries = await console.read(load)
    people = {person.id: person for person in await console.read(staff_accounts.list_staff)}
    shown = {name: value for name, value in query.items() if name != "before_id"}
    return console.render(
        "admin_audit.html",
        entries=entries,
        people=people,
        filters=shown,
        more=len(entries) == AUDIT_PAGE,
    )
