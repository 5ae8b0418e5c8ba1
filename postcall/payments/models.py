"""Tables of online payment: one row per payment attempt (a provider checkout session), every
webhook event id seen (so a repeated delivery changes nothing), and refunds.

Money is integer cents. A case's paid amount is the amount of its paid attempt; its refunded
amount is the sum of its refunds that the provider accepted or is still processing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughCase
from core.types import UTCDateTime, utcnow


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class AttemptStatus(StrEnum):
    creating = "creating"  # row written, provider not yet asked (or the answer was lost)
    open = "open"  # checkout session created; the citizen may pay
    pending = "pending"  # checkout completed, the money is on its way (SEPA debit)
    paid = "paid"
    failed = "failed"  # the delayed payment failed
    expired = "expired"  # the session lapsed or was replaced by a newer attempt
    error = "error"  # the provider refused or could not be reached when creating it


# Attempts that may still turn into a payment; the reconciliation re-reads these.
UNFINISHED = (AttemptStatus.creating, AttemptStatus.open, AttemptStatus.pending)


class RefundStatus(StrEnum):
    requested = "requested"  # row written, provider not yet asked
    pending = "pending"  # the provider accepted it and is still sending the money
    succeeded = "succeeded"
    failed = "failed"


# Refunds that count against the paid amount.
COUNTED_REFUNDS = (RefundStatus.requested, RefundStatus.pending, RefundStatus.succeeded)


class PaymentAttempt(SQLModel, OwnedThroughCase, table=True):
    __tablename__ = "payment_attempt"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_payment_attempt_amount"),
        _one_of("status", AttemptStatus, "ck_payment_attempt_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    # Random; names the attempt in the provider's return URLs instead of the citizen's token.
    public_id: str = Field(max_length=40, unique=True)
    provider: str = Field(max_length=20)
    session_id: str | None = Field(default=None, max_length=255, unique=True)
    status: str = Field(default=AttemptStatus.creating, max_length=20, index=True)
    amount_cents: int
    currency: str = Field(default="EUR", max_length=3)
    url: str | None = Field(default=None, sa_type=Text)  # the provider's page; never e-mailed
    payment_intent: str | None = Field(default=None, max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # last re-read


class ProcessedWebhookEvent(SQLModel, table=True):
    """A provider event handled once: a redelivery of the same id is answered and ignored."""

    __tablename__ = "payment_webhook_event"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_payment_webhook_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=255)
    event_type: str = Field(max_length=100)
    session_id: str | None = Field(default=None, max_length=255)
    outcome: str = Field(default="", max_length=30)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Refund(SQLModel, OwnedThroughCase, table=True):
    __tablename__ = "payment_refund"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_payment_refund_amount"),
        _one_of("status", RefundStatus, "ck_payment_refund_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    attempt_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("payment_attempt.id", ondelete="RESTRICT"), nullable=False,
            index=True,
        )
    )
    public_id: str = Field(max_length=40, unique=True)  # also the provider idempotency key
    provider_refund_id: str | None = Field(default=None, max_length=255, unique=True)
    amount_cents: int
    currency: str = Field(default="EUR", max_length=3)
    status: str = Field(default=RefundStatus.requested, max_length=20)
    reason: str = Field(default="", max_length=300)
    # The staff member (no foreign key, like the audit trail: the record outlives the account).
    created_by_id: int | None = None
    created_by_label: str = Field(default="", max_length=254)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
