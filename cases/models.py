"""Tables of the clerk's desk: identity checks, cases (with their fee items) and the counter
that numbers cases.

What an identity check keeps is deliberately narrow (German ID law, PAuswG §20: copies of an ID
card only with consent, so "the ID was presented" is the normal record): who checked, when, the
kind of document, which checks and security features were ticked, the outcome and its reason.
There is no column for an image, a scan or a document number, and the free-text columns are
short and refuse anything shaped like a document number (``cases.identity``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime, utcnow


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class DocumentType(StrEnum):
    id_card = "id_card"
    passport = "passport"
    residence_permit = "residence_permit"
    other = "other"


class Outcome(StrEnum):
    verified = "verified"
    failed = "failed"


class ReasonCode(StrEnum):
    """Why a check failed. ``poor_image_quality`` is the clerk aborting because the document
    cannot be seen well enough on camera: not a finding against the citizen."""

    poor_image_quality = "poor_image_quality"
    document_expired = "document_expired"
    photo_mismatch = "photo_mismatch"
    data_mismatch = "data_mismatch"
    security_features = "security_features"
    other = "other"


class CaseState(StrEnum):
    completed = "completed"
    reopened = "reopened"  # an admin reopened the appointment; the next completion replaces it


class Payment(StrEnum):
    invoice = "invoice"  # fee notice (Gebührenbescheid) with bank transfer
    online = "online"
    none = "none"


class PaymentStatus(StrEnum):
    not_required = "not_required"
    open = "open"
    paid = "paid"
    failed = "failed"
    refunded = "refunded"


class Delivery(StrEnum):
    post = "post"
    email = "email"
    pickup = "pickup"
    external = "external"  # another authority sends it (e.g. the Federal Office of Justice)


class DispatchStatus(StrEnum):
    not_required = "not_required"
    queued = "queued"
    printed = "printed"
    posted = "posted"
    delivered = "delivered"
    returned = "returned"
    cancelled = "cancelled"
    forwarded = "forwarded"


class IdentityCheck(SQLModel, table=True):
    """One identity check during a call; several may be recorded, the latest counts."""

    __tablename__ = "identity_check"
    __table_args__ = (
        _one_of("document_type", DocumentType, "ck_identity_check_document_type"),
        _one_of("outcome", Outcome, "ck_identity_check_outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    checked_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The staff member (no foreign key, like the audit trail: the record outlives the account).
    checked_by_id: int | None = None
    checked_by_label: str = Field(default="", max_length=254)
    document_type: str = Field(max_length=20)
    checks: str = Field(default="", max_length=300)  # comma-separated names from a fixed list
    outcome: str = Field(max_length=10)
    reason_code: str = Field(default="", max_length=30)
    reason: str = Field(default="", max_length=300)
    valid_until: dt.date | None = None
    note: str = Field(default="", max_length=500)

    def check_list(self) -> list[str]:
        return [name for name in self.checks.split(",") if name]


class Case(SQLModel, table=True):
    """The completed request of one appointment, keyed by its case number (Kassenzeichen)."""

    __tablename__ = "case_file"  # "case" is an SQL keyword
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="ck_case_file_amount"),
        CheckConstraint("revision >= 1", name="ck_case_file_revision"),
        _one_of("state", CaseState, "ck_case_file_state"),
        _one_of("payment", Payment, "ck_case_file_payment"),
        _one_of("payment_status", PaymentStatus, "ck_case_file_payment_status"),
        _one_of("delivery", Delivery, "ck_case_file_delivery"),
        _one_of("dispatch_status", DispatchStatus, "ck_case_file_dispatch_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="RESTRICT"), nullable=False,
            unique=True,
        )
    )
    office_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    case_number: str = Field(max_length=40, unique=True, index=True)
    state: str = Field(default=CaseState.completed, max_length=10)
    # Counts completions: a reopened and completed-again case has revision 2 (corrected notice).
    revision: int = Field(default=1)
    amount_cents: int = Field(default=0)
    currency: str = Field(default="EUR", max_length=3)
    payment: str = Field(max_length=10)
    payment_status: str = Field(max_length=20, index=True)
    delivery: str = Field(max_length=10)
    dispatch_status: str = Field(max_length=20, index=True)
    external_authority: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=1000)
    due_date: dt.date | None = None  # the fee is due then (open payments only)
    identity_check_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("identity_check.id", ondelete="SET NULL"), nullable=True
        ),
    )
    completed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_by_id: int | None = None
    completed_by_label: str = Field(default="", max_length=254)
    reopened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseItem(SQLModel, table=True):
    """One fee-schedule item of a case. Name, fee and fee-schedule reference are copied from
    the service at completion: a later change of the fee schedule does not change the case."""

    __tablename__ = "case_item"
    __table_args__ = (
        CheckConstraint("quantity >= 1 AND quantity <= 20", name="ck_case_item_quantity"),
        CheckConstraint("unit_fee_cents >= 0", name="ck_case_item_unit_fee"),
        CheckConstraint("amount_cents = unit_fee_cents * quantity", name="ck_case_item_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int = Field(default=0)
    service_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True),
    )
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    fee_schedule_ref: str = Field(default="", max_length=200)
    unit_fee_cents: int
    quantity: int
    amount_cents: int
    currency: str = Field(default="EUR", max_length=3)


class CaseNumberCounter(SQLModel, table=True):
    """The last sequence number given out per year; incremented in the completing transaction
    (an upsert that holds the row lock until commit), so two completions never share one."""

    __tablename__ = "case_number_counter"

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_value: int = Field(default=0)
