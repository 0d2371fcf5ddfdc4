"""One incident in the console: its page with every form it offers (update, resolve, reopen,
postmortem, corrections, publish), shown again with a form's errors or a preview."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import scheduled_posts, service
from incidents.broadcasting import deliveries as delivery_log
from incidents.broadcasting.models import PostState
from incidents.models import ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate
from incidents.rules import OPEN_INCIDENT_STATUSES
from incidents.schemas import LANGUAGES
from statuspage.console.kit import Console


def vocabulary() -> dict[str, Any]:
    return {
        "languages": LANGUAGES,
        "impacts": list(Impact),
        "open_statuses": [status for status in IncidentStatus if status in OPEN_INCIDENT_STATUSES],
        "component_statuses": list(ComponentStatus),
    }


async def incident_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    incident_id = console.id("incident_id")

    async def load(db: AsyncSession) -> dict[str, Any]:
        incident = await service.get_incident(db, incident_id=incident_id)
        posts = await scheduled_posts.list_posts(db, state=PostState.pending, limit=500)
        deliveries = await delivery_log.list_deliveries(db, incident_id=incident_id, limit=100)
        return {
            "incident": incident,
            "posts": [post for post in posts if post.incident_id == incident_id],
            "deliveries": deliveries,
            "components": await service.list_components(db),
        }

    loaded = await console.read(load)
    incident: Incident = loaded["incident"]
    updates = sorted(incident.updates, key=lambda update: (update.display_at, update.id))
    shown: dict[str, Any] = {
        "previews": [],
        "editing": None,
        "edited": {},
        "correcting": None,
        "corrected": {},
        **extra,
    }
    return console.render(
        "incident.html",
        status=status,
        updates=list(reversed(updates)),
        values=values or {"status": incident.status.value},
        public_url=console.settings.public_url,
        component_names={component.id: component.name for component in loaded["components"]},
        edit_values={update.id: _as_typed(update, console.zone) for update in updates},
        **loaded,
        **vocabulary(),
        **shown,
    )


def _as_typed(update: IncidentUpdate, zone: ZoneInfo) -> dict[str, str]:
    """A posted update's text as its edit form's fields."""
    typed = {f"body_{update.language}": update.body, f"cause_{update.language}": update.cause or ""}
    for lang, text in update.translations.items():
        typed[f"body_{lang}"] = text.get("body", "")
        typed[f"cause_{lang}"] = text.get("cause", "")
    eta = update.expected_resolution_at
    typed["eta"] = eta.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if eta else ""
    return typed
