"""The tables of detection: alert sources (each with its hashed secret), rules as data, and
every alert received with the decision taken on it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.common.db_types import Base, checked_enum, utcnow
from incidents.models import ComponentStatus


class SourceKind(enum.StrEnum):
    """What posts to a source: the URL segment it posts to (/api/alerts/<kind>/<secret>)."""

    alertmanager = "alertmanager"
    grafana = "grafana"
    events = "events"  # the generic JSON event API
    heartbeat = "heartbeat"


class AlertPolicy(enum.StrEnum):
    """What a firing alert does to its component (issue 19): tell staff with a prepared
    draft, draft (published later by a person), or announce at once."""

    tell_staff = "tell_staff"
    draft = "draft"
    announce = "announce"


class AlertState(enum.StrEnum):
    firing = "firing"
    resolved = "resolved"


class AlertSource(Base):
    __tablename__ = "alert_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SourceKind] = mapped_column(checked_enum(SourceKind))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # the storm guard: at most this many incidents opened per STORM_WINDOW; later alerts are
    # recorded and open nothing
    storm_limit: Mapped[int] = mapped_column(Integer, default=10)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # the generic event API's Standard Webhooks key (whsec_...), or the secret of Grafana's
    # HMAC signature: kept as made, since checking an HMAC needs the key itself (as a
    # subscriber's webhook secret is kept)
    signing_secret: Mapped[str | None] = mapped_column(String(100))

    heartbeat: Mapped[Heartbeat | None] = relationship(lazy="selectin", cascade="all")

    @property
    def signed(self) -> bool:
        return self.signing_secret is not None


class Heartbeat(Base):
    """A heartbeat source's push monitor: its component, how long without a beat marks it
    degraded (then, optionally, down), and the last beat."""

    __tablename__ = "alert_heartbeats"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("alert_sources.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="RESTRICT"))
    degraded_after_seconds: Mapped[int] = mapped_column(Integer)
    down_after_seconds: Mapped[int | None] = mapped_column(Integer)
    # the first deadline runs from the source's creation until a first beat
    last_beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what the check last found: "ok", "degraded" or "down" (it fires each stage once)
    stage: Mapped[str] = mapped_column(String(16), default="ok")


class AlertRule(Base):
    """Alerts whose labels include every `matchers` pair set `component_id` to
    `component_status` under `policy`; the texts are the rule's bilingual template."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_sources.id", ondelete="CASCADE")
    )
    matchers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    component_status: Mapped[ComponentStatus] = mapped_column(checked_enum(ComponentStatus))
    policy: Mapped[AlertPolicy] = mapped_column(checked_enum(AlertPolicy))
    resolve_automatically: Mapped[bool] = mapped_column(Boolean, default=False)
    # "announce at once" only once the alert has fired this long (a flapping probe stays a draft)
    debounce_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # "draft": published if nobody acknowledges it within this many minutes (None: never)
    publish_after_minutes: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    # {language: {"name", "body", "recovery_body"}}, the rule's own language among them
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """One alert of one source, by its fingerprint: re-sent notifications update this row."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source_id", "fingerprint"),
        # Held alerts only (few): over every alert, SQLite's planner took it for the
        # retention sweep's "hold_until IS NULL" instead of the index on updated_at.
        Index(
            "ix_alerts_hold_until",
            "hold_until",
            sqlite_where=text("hold_until IS NOT NULL"),
            postgresql_where=text("hold_until IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_sources.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(128))
    state: Mapped[AlertState] = mapped_column(checked_enum(AlertState))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    component_id: Mapped[int | None] = mapped_column(
        ForeignKey("components.id", ondelete="SET NULL")
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(32))
    # when this alert's incident was opened or joined: minus `starts_at`, detection latency
    acted_at: Mapped[datetime | None]
    # a held announcement: its draft is published at this moment if the alert still fires
    hold_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the retention sweep and the staff's alert list go by it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class WebhookId(Base):
    """A signed source's call accepted under its Standard Webhooks `webhook-id` (kept as a
    SHA-256 digest, whatever its length), with the answer it was given: a second delivery of
    the id is given that answer and acts on nothing again."""

    __tablename__ = "alert_webhook_ids"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("alert_sources.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answer: Mapped[dict[str, Any]] = mapped_column(default=dict)
