"""What an import reads from any source, in our vocabulary: the records the replay writes.

Every source's reader (Statuspage, Cachet, Uptime Kuma) fills a `Page` with these, statuses
already mapped to ours, so the replay, the ledger and the transaction are one path for all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    description: str
    position: int


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    description: str
    position: int
    group_id: str | None
    status: str


@dataclass(frozen=True)
class Update:
    id: str
    status: str
    body: str
    display_at: datetime
    # component id -> the status this update set (affected_components' new_status)
    changes: dict[str, str]
    notified: bool


@dataclass(frozen=True)
class Incident:
    id: str
    name: str
    impact: str
    component_ids: list[str]
    updates: list[Update]  # oldest first
    postmortem_body: str | None = None
    postmortem_published_at: datetime | None = None


@dataclass(frozen=True)
class Maintenance:
    id: str
    name: str
    scheduled_for: datetime
    scheduled_until: datetime
    component_ids: list[str]
    updates: list[Update]  # oldest first
    auto_start: bool = True
    auto_complete: bool = True


@dataclass(frozen=True)
class Subscriber:
    id: str
    mode: str
    email: str | None
    component_ids: list[str]
    quarantined: bool


@dataclass
class Page:
    id: str
    name: str
    groups: dict[str, Group] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    maintenances: dict[str, Maintenance] = field(default_factory=dict)
    subscribers: list[Subscriber] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what reading left out, and why
