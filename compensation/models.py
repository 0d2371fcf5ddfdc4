"""Tables of compensation: policies, batches with their per-account lines, vouchers, credits."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from incidents.common.db_types import Base, checked_enum, utcnow
from incidents.common.staff import Staff

__all__ = ["Staff"]  # the table the staff columns point at, registered with these


class Money(TypeDecorator[Decimal]):
    """Exact decimals: Numeric(38, 18) on PostgreSQL; on SQLite, whose numbers are floats,
    the canonical string. Amounts are never compared or summed in SQL on SQLite."""

    impl = String(48)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))
        return dialect.type_descriptor(String(48))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"money must be a finite Decimal, not {value!r}")
        return value if dialect.name == "postgresql" else format(canonical(value), "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return canonical(Decimal(value) if isinstance(value, str) else value)


def canonical(amount: Decimal) -> Decimal:
    """The same amount with no trailing zeros and never in exponent form: 100, 0.5."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


class PolicyKind(enum.StrEnum):
    fee_refund = "fee_refund"
    coupon = "coupon"


class BatchState(enum.StrEnum):
    draft = "draft"
    approved = "approved"
    issuing = "issuing"  # issue started; running issue again resumes it
    issued = "issued"
    delivered = "delivered"  # every voucher credited by the platform (or recorded as such)
    cancelled = "cancelled"


class Contribution(enum.StrEnum):
    """What a finance user did to prepare a batch: whoever did any of it may not approve it."""

    created = "created"
    loaded_accounts = "loaded_accounts"
    loaded_events = "loaded_events"
    cleared_intake = "cleared_intake"
    refreshed_policy = "refreshed_policy"


class LineNote(enum.StrEnum):
    """Why a line pays what it pays."""

    payable = "payable"
    capped = "capped"
    below_minimum = "below_minimum"
    excluded = "excluded"


class LeftOut(enum.StrEnum):
    """Why a valid event of an intake counts for nothing: outside what the policy covers."""

    kind = "kind"  # an event kind the policy does not count
    asset = "asset"  # an asset the policy does not pay
    component = "component"  # a component outside the batch's scope
    time = "time"  # outside the component's impact windows, grace included


class VoucherState(enum.StrEnum):
    issued = "issued"
    delivered = "delivered"
    redeemed = "redeemed"
    voided = "voided"


class CreditState(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


LIVE_BATCH = "state != 'cancelled'"  # every batch counts until it is cancelled


class Policy(Base):
    """A named compensation rule set; every change makes a new version."""

    __tablename__ = "compensation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PolicyKind] = mapped_column(checked_enum(PolicyKind))
    version: Mapped[int] = mapped_column(Integer, default=1)
    rules: Mapped[dict[str, Any]] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Batch(Base):
    """One incident compensated under one policy version, from draft to delivered."""

    __tablename__ = "compensation_batches"
    # One live batch per incident and policy, whatever races: a second one would be approved
    # for totals the vouchers (unique per incident, policy, account and asset) never pay.
    __table_args__ = (
        Index(
            "uq_compensation_batches_live",
            "incident_id",
            "policy_id",
            unique=True,
            postgresql_where=text(LIVE_BATCH),
            sqlite_where=text(LIVE_BATCH),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="RESTRICT"), index=True
    )
    policy_id: Mapped[int] = mapped_column(ForeignKey("compensation_policies.id"), index=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_kind: Mapped[PolicyKind] = mapped_column(checked_enum(PolicyKind))
    rules: Mapped[dict[str, Any]] = mapped_column()  # the policy version, frozen here
    state: Mapped[BatchState] = mapped_column(checked_enum(BatchState), default=BatchState.draft)
    # Intake so far: counts per outcome and the digests of the files taken.
    intake: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Per asset: accounts, amount (string), budget (string or null), over_budget.
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BatchContributor(Base):
    """Who prepared a batch, and how: the people four eyes keeps from approving it."""

    __tablename__ = "compensation_contributors"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="RESTRICT"), primary_key=True
    )
    contribution: Mapped[Contribution] = mapped_column(checked_enum(Contribution), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)  # the first time they did it


class BatchLine(Base):
    """An affected account's eligible activity in one asset, and what the policy pays it."""

    __tablename__ = "compensation_lines"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    fees: Mapped[Decimal] = mapped_column(Money)
    volume: Mapped[Decimal] = mapped_column(Money)
    events: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[LineNote] = mapped_column(checked_enum(LineNote))


class EventIdentity(Base):
    """An event a batch has summed, by its identity (`compensation.events.identity`): the same
    event sent again is reported as repeated, never summed twice."""

    __tablename__ = "compensation_event_identities"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="CASCADE"), primary_key=True
    )
    identity: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    source: Mapped[int] = mapped_column(Integer)  # its place in the batch's intake sources
    line: Mapped[int] = mapped_column(Integer)


class IntakeRejection(Base):
    __tablename__ = "compensation_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)


class IntakeLeftOut(Base):
    """A valid event an intake left out, and why: the report finance checks the scope by."""

    __tablename__ = "compensation_left_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[LeftOut] = mapped_column(checked_enum(LeftOut))


class Voucher(Base):
    """What an account is owed. At most one per (incident, policy, account, asset)."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("incident_id", "policy_id", "account_id", "asset"),
        Index("ix_vouchers_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("compensation_batches.id", ondelete="RESTRICT"), index=True
    )
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("compensation_policies.id"))
    account_id: Mapped[str] = mapped_column(String(64))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[VoucherState] = mapped_column(
        checked_enum(VoucherState), default=VoucherState.issued
    )
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    redemption_ref: Mapped[str | None] = mapped_column(String(128))
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    void_reason: Mapped[str | None] = mapped_column(Text)


class CreditDelivery(Base):
    """The outbox row that tells the platform's credit API about one voucher."""

    __tablename__ = "credit_deliveries"
    __table_args__ = (Index("ix_credit_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(
        ForeignKey("vouchers.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[CreditState] = mapped_column(
        checked_enum(CreditState), default=CreditState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
