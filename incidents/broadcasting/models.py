"""Tables of broadcasting: subscriptions, the events they hear of, and the outbox of deliveries."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.common.db_types import Base, checked_enum, utcnow
from incidents.models import Component


class Channel(enum.StrEnum):
    email = "email"
    webhook = "webhook"
    slack = "slack"
    discord = "discord"
    telegram = "telegram"
    feishu = "feishu"
    dingtalk = "dingtalk"
    wecom = "wecom"


class Audience(enum.StrEnum):
    """Account holders hear of public changes; the support channel also hears reminders."""

    public = "public"
    staff = "staff"


class DeliveryState(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"  # the subscription was disabled or went away before it was sent


class AttemptOutcome(enum.StrEnum):
    sent = "sent"
    retry = "retry"
    failed = "failed"
    gone = "gone"


class PostState(enum.StrEnum):
    pending = "pending"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"


class PostKind(enum.StrEnum):
    incident_update = "incident_update"
    maintenance = "maintenance"


subscription_components = Table(
    "subscription_components",
    Base.metadata,
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("component_id", ForeignKey("components.id", ondelete="CASCADE"), primary_key=True),
)


def new_link_nonce() -> str:
    """A subscription's own random value, signed into every link made for it."""
    return secrets.token_urlsafe(16)


class Subscription(Base):
    __tablename__ = "subscriptions"
    # An id is never given again (on SQLite, AUTOINCREMENT; PostgreSQL's sequence never goes
    # back), so a link naming a subscription that left never names the next one.
    __table_args__ = (UniqueConstraint("channel", "address"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(checked_enum(Channel))
    audience: Mapped[Audience] = mapped_column(checked_enum(Audience), default=Audience.public)
    # An email address, or the URL a webhook or chat message is posted to.
    address: Mapped[str] = mapped_column(String(2048))
    language: Mapped[str] = mapped_column(String(8))
    # Per channel: a Telegram chat id, a display name.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The signing secret (webhook, Feishu, DingTalk) or Telegram bot token; needed in clear
    # to sign, so it is shown once and never returned by the API again.
    secret: Mapped[str | None] = mapped_column(String(256))
    all_components: Mapped[bool] = mapped_column(Boolean, default=True)
    confirmed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped to revoke every manage and unsubscribe link sent so far.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    # In every link made for this row: a link opens only the row it was made for, even if an
    # id came back (a restored backup, a reset sequence). Never shown.
    nonce: Mapped[str] = mapped_column(String(32), default=new_link_nonce)
    # Links made before they carried the nonce (revision 0009) still manage and unsubscribe
    # the email rows that existed then; rows made since, and confirm links, need the nonce.
    legacy_links: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    components: Mapped[list[Component]] = relationship(
        secondary=subscription_components, order_by="Component.position"
    )


class BroadcastEvent(Base):
    """A change worth telling subscribers about, with what to tell them, frozen at that moment."""

    __tablename__ = "broadcast_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    audience: Mapped[Audience] = mapped_column(checked_enum(Audience))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    maintenance_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenances.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Scheduled broadcasts carry a key naming what they are for, so a rerun adds nothing.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One event to one subscription: the outbox row a worker claims, sends and records."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # The claim skips a delivery while an earlier one to the same subscription is pending
        # (messages arrive in order); this answers that per row without reading the others.
        # Not a partial index on state = 'pending': PostgreSQL's generic plan for the prepared
        # claim binds the state as a parameter and could not use one.
        Index("ix_deliveries_subscription_order", "subscription_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("broadcast_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[DeliveryState] = mapped_column(
        checked_enum(DeliveryState), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[BroadcastEvent] = relationship()
    subscription: Mapped[Subscription] = relationship()


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    outcome: Mapped[AttemptOutcome] = mapped_column(checked_enum(AttemptOutcome))
    # The receiver's HTTP status or the SMTP server's reply code; none when it never answered.
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(64))


class ScheduledPost(Base):
    """An incident update or a maintenance announcement staff wrote now, to go out later."""

    __tablename__ = "scheduled_posts"
    __table_args__ = (Index("ix_scheduled_posts_due", "state", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PostKind] = mapped_column(checked_enum(PostKind))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_at: Mapped[datetime]
    state: Mapped[PostState] = mapped_column(checked_enum(PostState), default=PostState.pending)
    result_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class SiteSecret(Base):
    """Keys generated on first use and shared by every instance through the database."""

    __tablename__ = "site_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuppressedAddress(Base):
    """An email address whose owner unsubscribed, kept only as a hash: imports (CSV, another
    status page) skip it, so moving a list in never brings back someone who left. Lifted
    when the owner subscribes again and confirms."""

    __tablename__ = "suppressed_addresses"

    # SHA-256 (hex) of the address trimmed and lower-cased
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
