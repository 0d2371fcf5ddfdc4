"""Console pages for finance: the overview (batches by name, drafting one, the policies), and a
read-only view of an incident's timeline; one batch's page is `batches`, policies `policies`,
taking events in `intake`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from compensation import service
from compensation.schemas import PolicyIn
from incidents import service as incident_service
from incidents.common.staff import FINANCE
from incidents.models import Incident
from incidents.rules import CLOSED_INCIDENT_STATUSES
from statuspage.console import batches, exports, intake, policies
from statuspage.console.batches import _, say
from statuspage.console.kit import Console, Page, route
from statuspage.console.posted import FormError


def routes() -> list[Page]:
    batch = "/finance/batches/{batch_id:id}"
    policy = "/finance/policies/{policy_id:id}"
    return [
        route("/finance", finance_page, FINANCE),
        route("/finance/policies", create_policy, FINANCE, methods=["POST"]),
        route(policy, policies.policy_page, FINANCE),
        route(policy, policies.update_policy, FINANCE, methods=["POST"]),
        route("/finance/incidents/{incident_id:id}", incident_page, FINANCE),
        route("/finance/batches", create_batch, FINANCE, methods=["POST"]),
        route(batch, batches.batch_page, FINANCE),
        route(batch + "/events", intake.upload_events, FINANCE, methods=["POST"], upload=True),
        route(batch + "/pull", intake.pull_events, FINANCE, methods=["POST"]),
        route(batch + "/accounts", intake.paste_accounts, FINANCE, methods=["POST"]),
        route(batch + "/refresh-policy", batches.refresh_policy, FINANCE, methods=["POST"]),
        route(batch + "/approve", batches.approve, FINANCE, methods=["POST"]),
        route(batch + "/issue", batches.issue, FINANCE, methods=["POST"]),
        route(batch + "/cancel", batches.cancel, FINANCE, methods=["POST"]),
        route(batch + "/void", batches.void, FINANCE, methods=["POST"]),
        route(batch + "/clear", batches.clear_intake, FINANCE, methods=["POST"]),
        route(batch + "/delivered", batches.mark_delivered, FINANCE, methods=["POST"]),
        route(batch + "/vouchers.csv", exports.vouchers, FINANCE),
        route(batch + "/reconciliation.csv", exports.reconciliation, FINANCE),
        route(batch + "/left-out.csv", exports.left_out, FINANCE),
        route(batch + "/refused.csv", exports.refused, FINANCE),
        route(batch + "/sample.csv", exports.sample, FINANCE),
    ]


# -- the overview: batches and policies ---------------------------------------------------


async def finance_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    async def load(db: AsyncSession) -> dict[str, Any]:
        resolved = await db.scalars(
            select(Incident)
            .where(Incident.status.in_(CLOSED_INCIDENT_STATUSES))
            .order_by(Incident.resolved_at.desc())
            .limit(100)
        )
        found = await service.list_batches(db)
        ids = {batch.incident_id for batch in found}
        named = await db.execute(select(Incident.id, Incident.name).where(Incident.id.in_(ids)))
        listed = await service.list_policies(db)
        choices = await policies.form_choices(db)
        return {
            "policies": listed,
            "policy_names": {policy.id: policy.name for policy in listed},
            "batches": found,
            "incident_names": {row[0]: row[1] for row in named.all()},
            "incidents": list(resolved),
            **choices,
        }

    return console.render("finance.html", status=status, **await console.read(load), **values)


async def create_policy(console: Console) -> Response:
    try:
        try:
            rules = policies.policy_rules(console, console.field("kind"))
            body = console.parse(PolicyIn, {"name": console.field("name"), "rules": rules})
        except FormError as error:
            raise policies.short_names(error) from error
        assert isinstance(body, PolicyIn)
        await console.write(
            lambda db: service.create_policy(
                db, name=body.name, value=body.rules, actor_id=console.staffer.id
            )
        )
    except FormError as error:
        shown = policies.posted(console)
        return await finance_page(
            console, status=error.status, errors=error.errors, policy_form=shown
        )
    return console.redirect("/staff/finance", done="policy_created")


async def create_batch(console: Console) -> Response:
    try:
        incident_id, policy_id = console.field("incident_id"), console.field("policy_id")
        if not incident_id.isdigit() or not policy_id.isdigit():
            raise FormError({"batch": say(console, _("choose a resolved incident and a policy"))})
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
    return console.redirect(batches.batch_url(batch.id), done="batch_created")


# -- an incident, read only ---------------------------------------------------------------


async def incident_page(console: Console) -> Response:
    """What support published, as finance checks a batch against it: no forms."""
    incident_id = console.id("incident_id")

    async def load(db: AsyncSession) -> dict[str, Any]:
        incident = await incident_service.get_incident(db, incident_id=incident_id)
        components = await incident_service.list_components(db)
        return {
            "incident": incident,
            "component_names": {component.id: component.name for component in components},
            "batches": await service.list_batches(db, incident_id=incident_id),
            "policy_names": {policy.id: policy.name for policy in await service.list_policies(db)},
        }

    loaded = await console.read(load)
    incident: Incident = loaded["incident"]
    updates = sorted(incident.updates, key=lambda update: (update.display_at, update.id))
    return console.render(
        "finance_incident.html",
        updates=list(reversed(updates)),
        public_url=console.settings.public_url,
        **loaded,
    )
