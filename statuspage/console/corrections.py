"""Console pages for support that change what an incident already said: edit a posted
update (marked as edited), take off a component listed by mistake (confirmed), reopen a
resolved incident, publish a draft."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from compensation import corrections as compensation_corrections
from incidents import flows, service
from incidents.common.actor import Actor
from incidents.common.staff import SUPPORT
from incidents.schemas import ComponentCorrectionIn, ReopenIn
from statuspage.console import confirm
from statuspage.console import forms as console_forms
from statuspage.console.incident_page import incident_page
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError

_TEXT_FIELDS = ["body", "cause", "translations", "expected_resolution_at", "eta"]


def routes() -> list[Page]:
    incident = "/incidents/{incident_id:id}"
    return [
        route(incident + "/updates/{update_id:id}/edit", edit_update, SUPPORT, methods=["POST"]),
        route(incident + "/corrections", remove_component, SUPPORT, methods=["POST"]),
        route(incident + "/reopen", reopen, SUPPORT, methods=["POST"]),
        route(incident + "/publish", publish, SUPPORT, methods=["POST"]),
    ]


def _back(incident_id: int, done: str, console: Console) -> Response:
    return console.redirect(f"/staff/incidents/{incident_id}", done=done)


async def edit_update(console: Console) -> Response:
    incident_id, update_id = console.id("incident_id"), console.id("update_id")
    update = await console.read(
        lambda db: service.get_update(db, incident_id=incident_id, update_id=update_id)
    )
    try:
        data = console_forms.update_edit_in(console, update.language)
        await console.write(
            lambda db: flows.edit_update(
                db, incident_id=incident_id, update_id=update_id, data=data, actor=console.actor()
            )
        )
    except FormError as error:
        return await incident_page(
            console,
            status=error.status,
            errors=placed(error.errors, "edit", _TEXT_FIELDS),
            editing=update_id,
            edited=console_forms.entered(console),
        )
    return _back(incident_id, "update_edited", console)


async def _correct(
    incident_id: int, data: ComponentCorrectionIn, actor: Actor, db: AsyncSession
) -> None:
    """The correction, with what compensation makes of it, in one transaction."""
    await compensation_corrections.before_correction(
        db, incident_id=incident_id, actor_id=actor.staff_id
    )
    await flows.remove_component(db, incident_id=incident_id, data=data, actor=actor)


async def _reopen(incident_id: int, data: ReopenIn, actor: Actor, db: AsyncSession) -> None:
    """Reopening lengthens the impact windows: compensation is asked first, in the same
    transaction, as for a correction."""
    await compensation_corrections.before_correction(
        db, incident_id=incident_id, actor_id=actor.staff_id, reopening=True
    )
    await flows.reopen_incident(db, incident_id=incident_id, data=data, actor=actor)


async def remove_component(console: Console) -> Response:
    """Asked first, once the form is valid: what finance pays follows it."""
    incident_id = console.id("incident_id")
    try:
        data = console_forms.correction_in(console)
        if not confirm.is_confirmed(console):
            component = await console.read(
                lambda db: service.get_component(db, component_id=data.component_id)
            )
            back = f"/staff/incidents/{incident_id}#affected"
            return confirm.ask(console, "correct", back=back, name=component.name)
        await console.write(partial(_correct, incident_id, data, console.actor()))
    except FormError as error:
        return await incident_page(
            console,
            status=error.status,
            errors=placed(error.errors, "correct", ["body", "translations"]),
            correcting=console.field("component_id"),
            corrected=console_forms.entered(console),
        )
    return _back(incident_id, "component_removed", console)


async def reopen(console: Console) -> Response:
    incident_id = console.id("incident_id")
    try:
        data = console_forms.reopen_in(console)
        await console.write(partial(_reopen, incident_id, data, console.actor()))
    except FormError as error:
        values = console_forms.entered(console)
        return await incident_page(console, status=error.status, values=values, errors=error.errors)
    return _back(incident_id, "reopened", console)


async def publish(console: Console) -> Response:
    incident_id = console.id("incident_id")
    await console.write(
        lambda db: flows.publish_incident(db, incident_id=incident_id, actor=console.actor())
    )
    return _back(incident_id, "incident_opened", console)
