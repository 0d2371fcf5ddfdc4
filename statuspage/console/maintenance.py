"""Console pages for support: creating, editing and moving maintenance."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import maintenance_flows, rules, scheduled_posts, service
from incidents.broadcasting import deliveries as delivery_log
from incidents.broadcasting.schemas import ScheduleMaintenanceIn
from incidents.common.errors import DomainError
from incidents.common.staff import SUPPORT
from incidents.models import Maintenance, MaintenanceStatus
from incidents.schemas import LANGUAGES
from statuspage.console import confirm
from statuspage.console import forms as console_forms
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError, local_time


def routes() -> list[Page]:
    one = "/maintenance/{maintenance_id:id}"
    return [
        route("/maintenance/new", new_maintenance, SUPPORT, methods=["GET", "POST"]),
        route(one, maintenance_page, SUPPORT),
        route(one, edit_maintenance, SUPPORT, methods=["POST"]),
        route(one + "/updates", post_update, SUPPORT, methods=["POST"]),
        route(one + "/cancel", cancel, SUPPORT, methods=["POST"]),
    ]


async def _form(
    console: Console,
    template: str,
    values: dict[str, Any],
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    return console.render(
        template,
        status=status,
        values=values,
        components=await console.read(service.list_components),
        languages=LANGUAGES,
        maintenance_statuses=list(MaintenanceStatus),
        **extra,
    )


async def new_maintenance(console: Console) -> Response:
    if console.request.method == "GET":
        defaults = {"auto_start": "on", "auto_complete": "on"}
        return await _form(console, "maintenance_new.html", defaults)
    if console.field("announce_at"):
        return await _schedule_announcement(console)
    try:
        data = console_forms.maintenance_in(console)
        made = await console.write(
            lambda db: maintenance_flows.create_maintenance(db, data=data, actor=console.actor())
        )
    except FormError as error:
        values = console_forms.entered(console)
        return await _form(
            console, "maintenance_new.html", values, status=error.status, errors=error.errors
        )
    return console.redirect(f"/staff/maintenance/{made.id}", done="maintenance_saved")


async def _schedule_announcement(console: Console) -> Response:
    """The maintenance is written now and announced later: the scheduler creates it (and
    tells subscribers) at `announce_at`, which must come before it starts."""
    try:
        run_at = local_time(
            console.field("announce_at"), console.zone, "announce_at", console.language
        )
        data = {"run_at": run_at, "maintenance": console_forms.maintenance_in(console)}
        scheduled: ScheduleMaintenanceIn = console.parse(ScheduleMaintenanceIn, data)
        await console.write(
            lambda db: scheduled_posts.schedule_maintenance(
                db, data=scheduled, actor=console.actor()
            )
        )
    except FormError as error:
        errors = {
            "announce_at" if name == "run_at" else name.removeprefix("maintenance."): text
            for name, text in error.errors.items()
        }
        values = console_forms.entered(console)
        return await _form(
            console, "maintenance_new.html", values, status=error.status, errors=errors
        )
    return console.redirect("/staff/maintenance", done="announcement_scheduled")


def _values_of(maintenance: Maintenance, console: Console) -> dict[str, Any]:
    zone = console.zone
    values: dict[str, Any] = {
        f"name_{maintenance.language}": maintenance.name,
        "scheduled_for": maintenance.scheduled_for.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": maintenance.scheduled_until.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "component_ids": [str(component.id) for component in maintenance.components],
    }
    for lang, text in maintenance.translations.items():
        values[f"name_{lang}"] = text.get("name", "")
    return values


async def maintenance_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    maintenance_id = console.id("maintenance_id")

    async def load(db: AsyncSession) -> tuple[Maintenance, list[Any]]:
        maintenance = await service.get_maintenance(db, maintenance_id=maintenance_id)
        deliveries = await delivery_log.list_deliveries(
            db, maintenance_id=maintenance_id, limit=100
        )
        return maintenance, list(deliveries)

    maintenance, deliveries = await console.read(load)
    return await _form(
        console,
        "maintenance.html",
        values or _values_of(maintenance, console),
        status=status,
        maintenance=maintenance,
        updates=sorted(maintenance.updates, key=lambda update: update.display_at, reverse=True),
        deliveries=deliveries,
        **extra,
    )


async def edit_maintenance(console: Console) -> Response:
    maintenance_id = console.id("maintenance_id")
    try:
        data = console_forms.maintenance_patch(console)
        await console.write(
            lambda db: maintenance_flows.edit_maintenance(
                db, maintenance_id=maintenance_id, data=data, actor=console.actor()
            )
        )
    except FormError as error:
        values = console_forms.entered(console)
        return await maintenance_page(
            console, status=error.status, values=values, errors=error.errors
        )
    return console.redirect(f"/staff/maintenance/{maintenance_id}", done="maintenance_saved")


async def _apply(
    console: Console,
    build: Any,
    flow: Any,
    *,
    form: str,
    fields: list[str],
    done: str,
    ask: MaintenanceStatus | None = None,
) -> Response:
    """Reads one of the maintenance page's forms and moves the maintenance with `flow`; a
    one-way move (to `ask`) is asked first, once the form is valid and the move allowed."""
    maintenance_id = console.id("maintenance_id")
    try:
        data = build(console)
        if ask and not confirm.is_confirmed(console):
            found = await console.read(
                lambda db: service.get_maintenance(db, maintenance_id=maintenance_id)
            )
            try:
                rules.check_maintenance_transition(found.status, ask)
            except DomainError as error:
                raise FormError.of(error, console.language) from error
            back = f"/staff/maintenance/{maintenance_id}#{form}"
            return confirm.ask(console, f"{ask.value}_maintenance", back=back, name=found.name)
        await console.write(
            lambda db: flow(db, maintenance_id=maintenance_id, data=data, actor=console.actor())
        )
    except FormError as error:
        errors = placed(error.errors, form, fields)
        return await maintenance_page(console, status=error.status, errors=errors)
    return console.redirect(f"/staff/maintenance/{maintenance_id}", done=done)


async def post_update(console: Console) -> Response:
    return await _apply(
        console,
        console_forms.maintenance_update_in,
        maintenance_flows.post_maintenance_update,
        form="update",
        fields=["status", "body", "translations"],
        done="maintenance_updated",
    )


async def cancel(console: Console) -> Response:
    return await _apply(
        console,
        console_forms.maintenance_cancel_in,
        maintenance_flows.cancel_maintenance,
        form="cancel",
        fields=["body", "translations"],
        ask=MaintenanceStatus.cancelled,
        done="maintenance_cancelled",
    )
