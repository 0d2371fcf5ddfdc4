"""Compensation: policies, batches and their lines, intake rejections, vouchers, credit outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:31:31.625772
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Exact amounts: Numeric(38, 18) on PostgreSQL, the canonical decimal string on SQLite.
_MONEY = sa.String(length=48).with_variant(sa.Numeric(38, 18), "postgresql")


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compensation_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "fee_refund",
                "coupon",
                name="policykind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name=op.f("fk_compensation_policies_created_by_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_compensation_policies_name")),
    )
    op.create_table(
        "compensation_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column(
            "policy_kind",
            sa.Enum(
                "fee_refund",
                "coupon",
                name="policykind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "approved",
                "issuing",
                "issued",
                "delivered",
                "cancelled",
                name="batchstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("intake", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["staff.id"],
            name=op.f("fk_compensation_batches_approved_by_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name=op.f("fk_compensation_batches_created_by_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_compensation_batches_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["compensation_policies.id"],
            name=op.f("fk_compensation_batches_policy_id_compensation_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_batches")),
    )
    with op.batch_alter_table("compensation_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compensation_batches_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compensation_batches_policy_id"), ["policy_id"], unique=False
        )

    op.create_table(
        "compensation_lines",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("fees", _MONEY, nullable=False),
        sa.Column("volume", _MONEY, nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column(
            "note",
            sa.Enum(
                "payable",
                "capped",
                "below_minimum",
                "excluded",
                name="linenote",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_compensation_lines_batch_id_compensation_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "account_id", "asset", name=op.f("pk_compensation_lines")
        ),
    )
    op.create_table(
        "compensation_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_compensation_rejections_batch_id_compensation_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_rejections")),
    )
    with op.batch_alter_table("compensation_rejections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compensation_rejections_batch_id"), ["batch_id"], unique=False
        )

    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "issued",
                "delivered",
                "redeemed",
                "voided",
                name="voucherstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redemption_ref", sa.String(length=128), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["compensation_batches.id"],
            name=op.f("fk_vouchers_batch_id_compensation_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_vouchers_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["compensation_policies.id"],
            name=op.f("fk_vouchers_policy_id_compensation_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"],
            ["staff.id"],
            name=op.f("fk_vouchers_voided_by_staff"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_vouchers_code")),
        sa.UniqueConstraint(
            "incident_id", "policy_id", "account_id", "asset", name=op.f("uq_vouchers_incident_id")
        ),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index("ix_vouchers_account", ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "credit_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="creditstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_credit_deliveries_voucher_id_vouchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_deliveries")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_credit_deliveries_voucher_id")),
    )
    with op.batch_alter_table("credit_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_deliveries_due", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_deliveries_due")

    op.drop_table("credit_deliveries")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_batch_id"))
        batch_op.drop_index("ix_vouchers_account")

    op.drop_table("vouchers")
    with op.batch_alter_table("compensation_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compensation_rejections_batch_id"))

    op.drop_table("compensation_rejections")
    op.drop_table("compensation_lines")
    with op.batch_alter_table("compensation_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compensation_batches_policy_id"))
        batch_op.drop_index(batch_op.f("ix_compensation_batches_incident_id"))

    op.drop_table("compensation_batches")
    op.drop_table("compensation_policies")
