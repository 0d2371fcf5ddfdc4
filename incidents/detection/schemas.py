"""What detection takes in: Alertmanager's webhook payload (version 4) and the rules and
sources staff define, validated at the boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from incidents.common.errors import N_, Invalid
from incidents.detection.models import AlertPolicy, SourceKind
from incidents.models import ComponentStatus
from incidents.schemas import Body, Id, Language, Name

LabelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LabelValue = Annotated[str, Field(max_length=2_000)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=100)]
Fingerprint = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]

# Alertmanager's "no end yet" is Go's zero time.
_ZERO_TIME_YEAR = 1


class _Sent(BaseModel):
    """What a monitoring system sends: fields it may add later are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


class AlertmanagerAlert(_Sent):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = {}
    startsAt: datetime  # Alertmanager's own field names, camelCase
    endsAt: datetime | None = None
    generatorURL: Annotated[str, Field(max_length=2_000)] = ""
    fingerprint: Fingerprint

    def ends(self) -> datetime | None:
        if self.endsAt is None or self.endsAt.year == _ZERO_TIME_YEAR:
            return None
        return self.endsAt


class AlertmanagerPayload(_Sent):
    """Alertmanager's webhook body, version 4: one notification for a group of alerts."""

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: Annotated[str, Field(max_length=1_000)] = ""
    groupKey: Annotated[str, Field(min_length=1, max_length=10_000)]
    truncatedAlerts: Annotated[int, Field(ge=0)] = 0
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Labels = {}
    externalURL: Annotated[str, Field(max_length=2_000)] = ""
    alerts: Annotated[list[AlertmanagerAlert], Field(min_length=1, max_length=1_000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RuleText(_In):
    name: Name
    body: Body
    recovery_body: Body


class RuleIn(_In):
    source_id: Id | None = Field(default=None, description="only this source's alerts; null: any")
    matchers: Annotated[dict[LabelName, LabelValue], Field(min_length=1, max_length=20)] = Field(
        description="label name to the exact value an alert must carry"
    )
    component_id: Id
    component_status: ComponentStatus
    policy: AlertPolicy
    resolve_automatically: bool = False
    debounce_seconds: Annotated[int, Field(ge=0, le=3_600)] = Field(
        default=0, description="announce only once the alert has fired this long"
    )
    publish_after_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = Field(
        default=None,
        description='"draft" only: publish the draft if nobody acknowledges it this long',
    )
    language: Language
    texts: Annotated[dict[Language, RuleText], Field(min_length=1)]
    position: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _check(self) -> RuleIn:
        if self.component_status == ComponentStatus.operational:
            raise Invalid(N_("component_status: an alert cannot set a component operational"))
        if self.publish_after_minutes is not None and self.policy != AlertPolicy.draft:
            raise Invalid(N_("publish_after_minutes: only a draft rule publishes later"))
        if self.language not in self.texts:
            raise Invalid(
                N_("texts: the rule's own language %(language)s is required"),
                language=self.language,
            )
        return self


Seconds = Annotated[int, Field(ge=10, le=7 * 86_400)]


class HeartbeatIn(_In):
    component_id: Id
    degraded_after_seconds: Seconds = Field(description="no beat this long: degraded")
    down_after_seconds: Seconds | None = Field(
        default=None, description="no beat this long: down (major outage); null: never"
    )

    def longer_second_deadline(self) -> bool:
        return self.down_after_seconds is None or (
            self.down_after_seconds > self.degraded_after_seconds
        )


class SourceIn(_In):
    name: Name
    kind: SourceKind = SourceKind.alertmanager
    storm_limit: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=10, description="incidents this source may open per 10 minutes"
    )
    signed: bool = Field(
        default=False,
        description="events and grafana only: calls must be signed with the signing secret"
        " shown once (events: Standard Webhooks; grafana: its webhook's HMAC signature)",
    )
    heartbeat: HeartbeatIn | None = Field(default=None, description="heartbeat sources only")

    @model_validator(mode="after")
    def _check(self) -> SourceIn:
        if self.signed and self.kind not in (SourceKind.events, SourceKind.grafana):
            raise Invalid(N_("signed: only an events or a Grafana source checks signatures"))
        if (self.kind == SourceKind.heartbeat) != (self.heartbeat is not None):
            raise Invalid(N_("heartbeat: a heartbeat source needs one; other kinds take none"))
        if self.heartbeat is not None and not self.heartbeat.longer_second_deadline():
            raise Invalid(
                N_("heartbeat.down_after_seconds: must be longer than degraded_after_seconds")
            )
        return self


class SourcePatch(_In):
    paused: bool = Field(description="paused: alerts are still recorded, but open and move nothing")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class HeartbeatOut(_Out):
    component_id: int
    degraded_after_seconds: int
    down_after_seconds: int | None
    last_beat_at: datetime
    stage: str


class SourceOut(_Out):
    id: int
    name: str
    kind: SourceKind
    prefix: str
    paused: bool
    storm_limit: int
    signed: bool
    heartbeat: HeartbeatOut | None
    created_at: datetime
    revoked_at: datetime | None


class SourceCreated(SourceOut):
    secret: str = Field(description="shown once: the webhook URL's last segment")
    webhook_path: str
    signing_secret: str | None = Field(
        default=None,
        description="shown once (signed sources): events' Standard Webhooks key, or the"
        " secret of Grafana's HMAC signature",
    )


class RuleOut(_Out):
    id: int
    source_id: int | None
    matchers: dict[str, str]
    component_id: int
    component_status: ComponentStatus
    policy: AlertPolicy
    resolve_automatically: bool
    debounce_seconds: int
    publish_after_minutes: int | None
    language: str
    texts: dict[str, RuleText]
    position: int


class RuleDeleted(BaseModel):
    deleted: int


class AlertOut(_Out):
    id: int
    source_id: int
    fingerprint: str
    state: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    rule_id: int | None
    component_id: int | None
    incident_id: int | None
    decision: str
    acted_at: datetime | None
    received_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_seconds(self) -> float | None:
        """From the alert starting to its incident being opened or joined."""
        if self.acted_at is None or self.starts_at is None:
            return None
        return round((self.acted_at - self.starts_at).total_seconds(), 3)


class AlertDecision(BaseModel):
    fingerprint: str
    decision: str
    incident_id: int | None
