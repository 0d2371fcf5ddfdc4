"""How an incident's next words read before they go out: on the page and in an email, in
each language, with the component statuses they set, for an update as for an opening."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents import rules
from incidents.broadcasting import outbox
from incidents.common.db_types import utcnow
from incidents.models import Component, ComponentStatus, Impact, Incident, IncidentStatus
from incidents.schemas import LANGUAGES, IncidentOpen, UpdateIn
from statuspage import i18n, markdown
from statuspage.channels.messages import Message, compose
from statuspage.config import Settings
from statuspage.site import Site


@dataclass(frozen=True)
class Preview:
    language: str
    page: str  # the update's body as the page renders it
    message: Message
    changes: list[str]  # "BTC withdrawals: Operational → Degraded performance"
    fallback: bool  # nothing written in this language: readers get the incident's own


def of_update(
    settings: Settings, incident: Incident, data: UpdateIn, components: list[Component]
) -> list[Preview]:
    payload = outbox.incident_payload(incident)
    payload["status"] = data.status.value
    listed = {component.id for component in incident.components}
    named = [c for c in components if c.id in data.components and c.id not in listed]
    payload["components"] += outbox.incident_payload(_transient(components=named))["components"]
    return _previews(settings, "incident.updated", payload, data, components)


def of_opening(
    settings: Settings, data: IncidentOpen, components: list[Component]
) -> list[Preview]:
    own = data.language or settings.default_language
    listed = set(data.component_ids) | set(data.components)
    incident = _transient(
        name=data.name,
        language=own,
        translations={lang: {"name": t.name} for lang, t in data.translations.items() if t.name},
        impact=data.impact or rules.impact_of(data.components.values()),
        status=IncidentStatus(data.status),
        components=[component for component in components if component.id in listed],
    )
    payload = outbox.incident_payload(incident)
    return _previews(settings, "incident.opened", payload, data, components)


def _transient(**columns: Any) -> Incident:
    """An incident never stored, for its payload: what it would say if it were."""
    defaults: dict[str, Any] = {
        "id": 0,
        "shortlink": "preview",
        "name": "",
        "language": "en",
        "translations": {},
        "impact": Impact.none,
        "status": IncidentStatus.investigating,
        "started_at": utcnow(),
        "resolved_at": None,
    }
    return Incident(**{**defaults, **columns})


def _previews(
    settings: Settings,
    kind: str,
    payload: Any,
    data: UpdateIn | IncidentOpen,
    components: list[Component],
) -> list[Preview]:
    own = data.language or settings.default_language
    bodies = {own: data.body, **{lang: t.body for lang, t in data.translations.items()}}
    causes = {own: data.cause, **{lang: t.cause for lang, t in data.translations.items()}}
    shown = {
        "body": bodies,
        "cause": {lang: text for lang, text in causes.items() if text},
        "language": own,
        "expected_resolution_at": (
            data.expected_resolution_at.isoformat() if data.expected_resolution_at else None
        ),
        "display_at": utcnow().isoformat(),
    }
    site = Site.from_settings(settings)
    found = []
    for lang in LANGUAGES:
        message = compose(
            kind=kind, payload={"incident": payload, "update": shown}, language=lang, site=site
        )
        page = markdown.render(message.body)
        changes = _changes(data.components, components, lang)
        found.append(Preview(lang, page, message, changes, lang not in bodies))
    return found


def _changes(
    statuses: dict[int, ComponentStatus], components: list[Component], language: str
) -> list[str]:
    """The component statuses set, as the page says them in `language`."""

    def said(status: ComponentStatus) -> str:
        return i18n.t(language, f"component_status.{status.value}")

    return [
        i18n.t(
            language,
            "page.components_changed",
            name=i18n.localized_name(component, language),
            old=said(component.status),
            new=said(new),
        )
        for component in components
        if (new := statuses.get(component.id)) is not None
    ]
