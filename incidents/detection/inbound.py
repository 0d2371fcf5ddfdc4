"""What the other senders post, and the one shape every sender's alert becomes: Grafana
alerting's webhook (its documented default payload), the generic JSON event API, and the
alerts a heartbeat's silence makes. Alertmanager's payload is in `schemas`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from incidents.detection.schemas import (
    AlertmanagerAlert,
    AlertmanagerPayload,
    Labels,
)
from incidents.models import ComponentStatus
from incidents.schemas import Id, Name

AlertStatus = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Incoming:
    """One alert as detection acts on it, whoever sent it. A sender that names the
    component (the event API, a heartbeat) or its status overrides the matched rule's."""

    fingerprint: str
    status: AlertStatus
    labels: dict[str, str]
    starts_at: datetime
    annotations: dict[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    component_id: int | None = None
    component_status: ComponentStatus | None = None


def from_alertmanager(payload: AlertmanagerPayload | GrafanaPayload) -> list[Incoming]:
    """Alertmanager's alerts, or Grafana's (the same fields: Grafana's alerting is built on
    Alertmanager's notifier); a group lists each fingerprint once, the last copy kept."""
    latest = {alert.fingerprint: alert for alert in payload.alerts}
    return [_one(alert) for alert in latest.values()]


def _one(alert: AlertmanagerAlert | GrafanaAlert) -> Incoming:
    return Incoming(
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.startsAt,
        ends_at=alert.ends(),
    )


class _Sent(BaseModel):
    model_config = ConfigDict(extra="ignore")


Url = Annotated[str, Field(max_length=2_000)]


class GrafanaAlert(AlertmanagerAlert):
    """One alert of Grafana's webhook: Alertmanager's fields plus its links and values."""

    silenceURL: Url = ""
    dashboardURL: Url = ""
    panelURL: Url = ""
    values: Annotated[dict[str, float | None], Field(max_length=100)] | None = None


class GrafanaPayload(_Sent):
    """Grafana alerting's webhook body (payload version "1")."""

    receiver: Annotated[str, Field(max_length=1_000)] = ""
    status: AlertStatus
    orgId: int = 0
    alerts: Annotated[list[GrafanaAlert], Field(min_length=1, max_length=1_000)]
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Labels = {}
    externalURL: Url = ""
    version: Annotated[str, Field(max_length=16)] = "1"
    groupKey: Annotated[str, Field(max_length=10_000)] = ""
    truncatedAlerts: Annotated[int, Field(ge=0)] = 0
    title: Annotated[str, Field(max_length=10_000)] = ""
    state: Annotated[str, Field(max_length=32)] = ""
    message: Annotated[str, Field(max_length=100_000)] = ""


ComponentName = Annotated[str, Field(min_length=1, max_length=200)]
DedupKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/@-]+$")]


class EventIn(BaseModel):
    """The generic event API: something is wrong with a component (named by id or name, or
    found by the rules from labels), or no longer is. Events with one `dedup_key` are one
    alert: sent again, it changes nothing; sent with `resolve`, it recovers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    component: Annotated[Id | ComponentName, Field(union_mode="left_to_right")] | None = Field(
        default=None, description="the component's id or exact name"
    )
    labels: Labels = Field(default={}, description="matched by the rules, as alert labels are")
    status: ComponentStatus | None = Field(
        default=None,
        description="the component's status while this fires (default: the rule's);"
        " operational resolves",
    )
    summary: Name
    dedup_key: DedupKey
    resolve: bool = False
    occurred_at: datetime | None = Field(default=None, description="default: when received")

    @model_validator(mode="after")
    def _check(self) -> EventIn:
        if self.component is None and not self.labels:
            raise ValueError("component: name a component (its id or name) or give labels")
        if self.resolve and self.status not in (None, ComponentStatus.operational):
            raise ValueError("status: an event that resolves sets no other status")
        return self

    @property
    def resolves(self) -> bool:
        return self.resolve or self.status == ComponentStatus.operational


def from_event(
    event: EventIn, *, component_id: int | None, component_name: str | None, now: datetime
) -> Incoming:
    labels = dict(event.labels)
    if component_name is not None:
        labels.setdefault("component", component_name)
    firing_status = None if event.resolves else event.status
    return Incoming(
        fingerprint=event.dedup_key,
        status="resolved" if event.resolves else "firing",
        labels=labels,
        annotations={"summary": event.summary},
        starts_at=event.occurred_at or now,
        ends_at=now if event.resolves else None,
        component_id=component_id,
        component_status=firing_status,
    )
