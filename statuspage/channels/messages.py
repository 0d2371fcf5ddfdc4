"""What a broadcast says, in the subscriber's language: one `Message` per event, which each
channel (email, webhook, chat) lays out in its own format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.broadcasting import payloads
from incidents.broadcasting.outbox import pick
from incidents.broadcasting.payloads import (
    ComponentPayload,
    IncidentEvent,
    MaintenanceEvent,
    MaintenanceUpdatePayload,
    UpdatePayload,
)
from statuspage.i18n import format_time, t
from statuspage.site import Site


@dataclass(frozen=True)
class Message:
    kind: str
    language: str
    headline: str  # "New incident", "Maintenance started"
    name: str  # the incident's or maintenance's name
    subject: str
    status: str  # the status, in words
    body: str  # Markdown written by staff, or a templated sentence
    facts: list[str] = field(default_factory=list)  # "Affected: …", "Expected resolution: …"
    url: str = ""

    @property
    def text(self) -> str:
        """The message as plain text, for channels without formatting."""
        lines = [f"{self.headline}: {self.name}", self.status, "", self.body]
        if self.facts:
            lines += ["", *self.facts]
        if self.url:
            lines += ["", t(self.language, "broadcast.details", url=self.url)]
        return "\n".join(lines).strip()


def compose(*, kind: str, payload: Mapping[str, Any], language: str, site: Site) -> Message:
    """The message of an event, from its payload as stored (its kind says the payload's shape)."""
    site = site.in_language(language)
    if kind.startswith("incident."):
        return _incident(kind, payloads.incident_event(payload), language, site)
    if kind.startswith("maintenance."):
        return _maintenance(kind, payloads.maintenance_event(payload), language, site)
    if kind == "staff.reminder":
        return _staff_reminder(payloads.incident_event(payload), language, site)
    return _message(
        kind,
        language,
        site,
        name=site.name,
        status="",
        body=t(language, "broadcast.test_body", site=site.name),
        url=site.url + "/",
    )


def _message(
    kind: str,
    language: str,
    site: Site,
    *,
    name: str,
    status: str,
    body: str,
    facts: list[str] | None = None,
    url: str,
) -> Message:
    """A message headed by its kind, with the subject every channel uses: [site] headline: name."""
    headline = t(language, f"broadcast.kind.{kind}")
    return Message(
        kind=kind,
        language=language,
        headline=headline,
        name=name,
        subject=t(language, "broadcast.subject", site=site.name, headline=headline, name=name),
        status=status,
        body=body,
        facts=facts or [],
        url=url,
    )


def _status(language: str, vocabulary: str, status: str) -> str:
    """The status line in words ("Status: Identified"), from incident_ or maintenance_status."""
    return t(language, "broadcast.status", status=t(language, f"{vocabulary}.{status}"))


def _when(raw: str | None, language: str, site: Site) -> str:
    return format_time(datetime.fromisoformat(raw), site.zone, language) if raw else ""


def _components(components: list[ComponentPayload], language: str) -> str:
    names = [pick(component["name"], language) for component in components]
    return t(language, "broadcast.list_separator").join(names)


def _incident(kind: str, payload: IncidentEvent, language: str, site: Site) -> Message:
    incident = payload["incident"]
    update: UpdatePayload | dict[str, Any] = (
        payload.get("update") or payload.get("last_update") or {}
    )
    own = incident["language"]
    name = pick(incident["name"], language, own)
    facts = []
    if incident["components"]:
        facts.append(
            t(
                language,
                "broadcast.affected",
                components=_components(incident["components"], language),
            )
        )
    eta = update.get("expected_resolution_at")
    if eta and incident["status"] not in {"resolved", "postmortem"}:
        facts.append(t(language, "broadcast.eta", time=_when(eta, language, site)))
    cause = pick(update.get("cause") or {}, language, update.get("language", own))
    if cause:
        facts.append(t(language, "broadcast.cause", cause=cause))
    body = pick(update.get("body") or {}, language, update.get("language", own))
    if kind == "incident.progress":
        next_by = _when(payload["next_update_by"], language, site)
        last = t(
            language,
            "broadcast.progress_last",
            time=_when(update.get("display_at"), language, site),
            body=body,
        )
        body = t(language, "broadcast.progress_body", time=next_by) + "\n\n" + last
    return _message(
        kind,
        language,
        site,
        name=name,
        status=_status(language, "incident_status", incident["status"]),
        body=body,
        facts=facts,
        url=f"{site.url}/incidents/{incident['shortlink']}",
    )


def _maintenance(kind: str, payload: MaintenanceEvent, language: str, site: Site) -> Message:
    maintenance = payload["maintenance"]
    update: MaintenanceUpdatePayload | dict[str, Any] = payload.get("update") or {}
    own = maintenance["language"]
    name = pick(maintenance["name"], language, own)
    start = _when(maintenance["scheduled_for"], language, site)
    facts = [
        t(
            language,
            "broadcast.window",
            start=start,
            end=_when(maintenance["scheduled_until"], language, site),
        ),
    ]
    if previous := payload.get("previous"):
        facts.append(
            t(
                language,
                "broadcast.previous_window",
                start=_when(previous["scheduled_for"], language, site),
                end=_when(previous["scheduled_until"], language, site),
            )
        )
    if maintenance["components"]:
        facts.append(
            t(
                language,
                "broadcast.affected",
                components=_components(maintenance["components"], language),
            )
        )
    body = pick(update.get("body") or {}, language, update.get("language", own))
    if kind == "maintenance.reminder":
        hours = payload["lead_hours"]
        key = "broadcast.reminder_body_1" if hours == 1 else "broadcast.reminder_body"
        body = t(language, key, hours=hours, time=start)
    return _message(
        kind,
        language,
        site,
        name=name,
        status=_status(language, "maintenance_status", maintenance["status"]),
        body=body,
        facts=facts,
        url=f"{site.url}/maintenance/{maintenance['shortlink']}",
    )


def _staff_reminder(payload: IncidentEvent, language: str, site: Site) -> Message:
    message = _incident("incident.updated", payload, language, site)
    url = message.url
    reason = payload["reason"]
    if reason == "eta_passed":
        body = t(language, "broadcast.staff_eta", time=_when(payload["eta"], language, site))
    elif reason in {"detected", "recovered"}:
        body = t(language, f"broadcast.staff_{reason}", alert=payload["alertname"])
        url = f"{site.url}/staff/incidents/{payload['incident']['id']}"  # drafts are not public
    else:
        body = t(language, "broadcast.staff_quiet", minutes=payload["quiet_minutes"])
    return _message(
        "staff.reminder",
        language,
        site,
        name=message.name,
        status=message.status,
        body=body,
        facts=message.facts,
        url=url,
    )
