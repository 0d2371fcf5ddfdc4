"""The shape of what an outbox event carries: written by `outbox`, read by the channels.

Stored as JSON exactly as typed here (a TypedDict is the dict itself), so rows already in the
outbox read back as they were written. Texts are {language: text} in every language they exist in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Required, TypedDict, cast

Texts = dict[str, str]


class ComponentPayload(TypedDict):
    id: int
    name: Texts
    status: str


class IncidentPayload(TypedDict):
    id: int
    shortlink: str
    language: str
    name: Texts
    status: str
    impact: str
    started_at: str
    resolved_at: str | None
    components: list[ComponentPayload]


class UpdatePayload(TypedDict):
    id: int
    status: str
    language: str
    body: Texts
    cause: Texts
    expected_resolution_at: str | None
    display_at: str


class MaintenancePayload(TypedDict):
    id: int
    shortlink: str
    language: str
    name: Texts
    status: str
    scheduled_for: str
    scheduled_until: str
    components: list[ComponentPayload]


class MaintenanceUpdatePayload(TypedDict):
    id: int
    status: str
    language: str
    body: Texts
    display_at: str


class Window(TypedDict):
    scheduled_for: str
    scheduled_until: str


class IncidentEvent(TypedDict, total=False):
    """incident.*, and staff.reminder about an incident."""

    incident: Required[IncidentPayload]
    update: UpdatePayload  # the update the event announces
    last_update: UpdatePayload  # incident.progress: the update subscribers last heard
    next_update_by: str  # incident.progress
    reason: Literal["quiet", "eta_passed", "detected", "recovered"]  # staff.reminder
    quiet_minutes: int  # staff.reminder, reason "quiet"
    eta: str  # staff.reminder, reason "eta_passed"
    alertname: str  # staff.reminder, reasons "detected" and "recovered": what monitoring said


class MaintenanceEvent(TypedDict, total=False):
    """maintenance.*"""

    maintenance: Required[MaintenancePayload]
    update: Required[MaintenanceUpdatePayload]
    previous: Window  # maintenance.rescheduled: the window it had before
    lead_hours: int  # maintenance.reminder


class NoPayload(TypedDict):
    """subscription.confirm and subscription.test: the subscription says it all."""


EventPayload = IncidentEvent | MaintenanceEvent | NoPayload


def to_json(payload: EventPayload) -> dict[str, Any]:
    """What the JSON column stores: the payload as it is."""
    return cast(dict[str, Any], payload)


# Read back by the event's kind, which says the shape (stored rows, old ones too, hold what
# `to_json` gave the column).


def incident_event(stored: Mapping[str, Any]) -> IncidentEvent:
    return cast(IncidentEvent, stored)


def maintenance_event(stored: Mapping[str, Any]) -> MaintenanceEvent:
    return cast(MaintenanceEvent, stored)
