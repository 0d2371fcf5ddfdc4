"""Console pages for support: the dashboard, opening incidents from templates (published, or
saved as a draft, after a preview), updates, resolve (confirmed), postmortem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import flows, scheduled_posts, service
from incidents.broadcasting.models import PostState, ScheduledPost
from incidents.common.db_types import utcnow
from incidents.common.staff import ANY_STAFF, FINANCE, SUPPORT
from incidents.models import Component, Incident, Maintenance, MaintenanceStatus
from incidents.rules import OPEN_INCIDENT_STATUSES
from incidents.schemas import LANGUAGES
from statuspage.console import confirm, corrections, previews
from statuspage.console import forms as console_forms
from statuspage.console.incident_page import incident_page, vocabulary
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError

ACTIVE_MAINTENANCE = [
    MaintenanceStatus.scheduled,
    MaintenanceStatus.in_progress,
    MaintenanceStatus.verifying,
]
QUIET_WITHOUT_CADENCE = timedelta(minutes=60)


def routes() -> list[Page]:
    incident = "/incidents/{incident_id:id}"
    return [
        route("/", dashboard, ANY_STAFF),
        route("/incidents/new", new_incident, SUPPORT, methods=["GET", "POST"]),
        route(incident, incident_page, SUPPORT),
        route(incident + "/updates", post_update, SUPPORT, methods=["POST"]),
        route(incident + "/resolve", resolve, SUPPORT, methods=["POST"]),
        route(incident + "/postmortem", postmortem, SUPPORT, methods=["POST"]),
        route("/scheduled/{post_id:id}/cancel", cancel_post, SUPPORT, methods=["POST"]),
        *corrections.routes(),
    ]


# -- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenIncident:
    incident: Incident
    last_update_at: datetime
    since: timedelta
    quiet: bool
    eta: datetime | None
    past_eta: bool


def open_incident_row(incident: Incident, cadence: timedelta | None, now: datetime) -> OpenIncident:
    latest = max(incident.updates, key=lambda update: (update.display_at, update.id))
    since = now - latest.display_at
    eta = latest.expected_resolution_at
    return OpenIncident(
        incident=incident,
        last_update_at=latest.display_at,
        since=since,
        quiet=since > (cadence or QUIET_WITHOUT_CADENCE),
        eta=eta,
        past_eta=eta is not None and eta < now,
    )


async def dashboard(console: Console) -> Response:
    if not console.staffer.can(SUPPORT):
        return console.redirect(
            "/staff/finance" if console.staffer.can(FINANCE) else "/staff/password"
        )

    async def load(
        db: AsyncSession,
    ) -> tuple[list[Incident], list[Maintenance], list[ScheduledPost]]:
        incidents = await service.list_incidents(db, statuses=OPEN_INCIDENT_STATUSES, limit=200)
        maintenances = await service.list_maintenances(db, statuses=ACTIVE_MAINTENANCE, limit=200)
        posts = await scheduled_posts.list_posts(db, state=PostState.pending, limit=200)
        return incidents, maintenances, list(posts)

    incidents, maintenances, posts = await console.read(load)
    now, cadence = utcnow(), console.settings.cadence()
    rows = [
        open_incident_row(incident, cadence.get(incident.impact), now) for incident in incidents
    ]
    return console.render(
        "dashboard.html",
        incidents=rows,
        maintenances=sorted(maintenances, key=lambda item: item.scheduled_for),
        posts=posts,
        recent=await console.read(lambda db: service.list_incidents(db, limit=10)),
    )


# -- opening an incident ------------------------------------------------------------------


async def _components(console: Console) -> list[Component]:
    return await console.read(service.list_components)


async def new_incident(console: Console) -> Response:
    if console.request.method == "GET":
        return await _new_form(console, _from_template(console, await _components(console)))
    action = console.field("action")
    try:
        data = console_forms.incident_open(console, draft=action == "draft")
        if action == "preview":
            shown = previews.of_opening(console.settings, data, await _components(console))
            return await _new_form(console, console_forms.entered(console), previews=shown)
        incident = await console.write(
            lambda db: flows.open_incident(db, data=data, actor=console.actor())
        )
    except FormError as error:
        return await _new_form(
            console, console_forms.entered(console), errors=error.errors, status=error.status
        )
    done = "draft_saved" if incident.draft else "incident_opened"
    return console.redirect(f"/staff/incidents/{incident.id}", done=done)


def _from_template(console: Console, components: list[Component]) -> dict[str, Any]:
    """The opening form's values from the template chosen: its texts, its components each
    with the status it preselects (the one control each has: "not affected" unselects it)."""
    templates = console_forms.incident_templates()
    chosen = templates.get(console.request.query_params.get("template", ""), templates["blank"])
    return {
        **{f"name_{lang}": chosen.name.get(lang, "") for lang in LANGUAGES},
        **{f"body_{lang}": chosen.body.get(lang, "") for lang in LANGUAGES},
        "impact": chosen.impact,
        "status": chosen.status,
        "statuses": {str(key): value for key, value in chosen.preselected(components).items()},
        "template": chosen.key,
    }


async def _new_form(
    console: Console, values: dict[str, Any], *, status: int = 200, **extra: Any
) -> Response:
    return console.render(
        "incident_new.html",
        status=status,
        templates=list(console_forms.incident_templates().values()),
        components=await _components(console),
        values=values,
        own_language=console.settings.default_language,
        **vocabulary(),
        **extra,
    )


# -- one incident -------------------------------------------------------------------------


async def post_update(console: Console) -> Response:
    """Post now, schedule for later, or only preview: the button pressed decides."""
    incident_id, action = console.id("incident_id"), console.field("action")
    try:
        if action == "preview":
            data = console_forms.update_in(console)
            shown = await _update_preview(console, incident_id, data)
            return await incident_page(
                console, values=console_forms.entered(console), previews=shown
            )
        if action == "schedule":
            scheduled = console_forms.schedule_in(console)
            await console.write(
                lambda db: scheduled_posts.schedule_update(
                    db, incident_id=incident_id, data=scheduled, actor=console.actor()
                )
            )
            return console.redirect(f"/staff/incidents/{incident_id}", done="update_scheduled")
        update = console_forms.update_in(console)
        await console.write(
            lambda db: flows.post_update(
                db, incident_id=incident_id, data=update, actor=console.actor()
            )
        )
    except FormError as error:
        values = console_forms.entered(console)
        return await incident_page(console, status=error.status, values=values, errors=error.errors)
    return console.redirect(f"/staff/incidents/{incident_id}", done="update_posted")


async def _update_preview(console: Console, incident_id: int, data: Any) -> list[previews.Preview]:
    async def load(db: AsyncSession) -> tuple[Incident, list[Component]]:
        incident = await service.get_incident(db, incident_id=incident_id)
        return incident, await service.list_components(db)

    incident, components = await console.read(load)
    return previews.of_update(console.settings, incident, data, components)


async def _close(
    console: Console, build: Any, flow: Any, *, form: str, done: str, ask: bool = False
) -> Response:
    """Resolve (asked first, once the form is valid) or postmortem: the page's later forms."""
    incident_id = console.id("incident_id")
    try:
        data = build(console)
        if ask and not confirm.is_confirmed(console):
            incident = await console.read(
                lambda db: service.get_incident(db, incident_id=incident_id)
            )
            back = f"/staff/incidents/{incident_id}#{form}"
            return confirm.ask(console, form, back=back, name=incident.name)
        await console.write(
            lambda db: flow(db, incident_id=incident_id, data=data, actor=console.actor())
        )
    except FormError as error:
        return await incident_page(console, status=error.status, errors=_under(form, error))
    return console.redirect(f"/staff/incidents/{incident_id}", done=done)


async def resolve(console: Console) -> Response:
    return await _close(
        console,
        console_forms.resolve_in,
        flows.resolve_incident,
        form="resolve",
        done="resolved",
        ask=True,
    )


async def postmortem(console: Console) -> Response:
    return await _close(
        console,
        console_forms.postmortem_in,
        flows.add_postmortem,
        form="postmortem",
        done="postmortem_saved",
    )


def _under(form: str, error: FormError) -> dict[str, str]:
    """Errors of the page's second or third form, named so they show next to that form."""
    return placed(error.errors, form, ["body", "translations"])


async def cancel_post(console: Console) -> Response:
    post_id = console.id("post_id")
    post = await console.write(
        lambda db: scheduled_posts.cancel_post(db, post_id=post_id, actor=console.actor())
    )
    target = f"/staff/incidents/{post.incident_id}" if post.incident_id else "/staff/"
    return console.redirect(target, done="post_cancelled")
