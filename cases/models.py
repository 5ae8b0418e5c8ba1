"""Tables of the request (Vorgang) at the centre: the request itself (``case_file``), its
identity checks, its fee items and the counter that numbers decided requests.

A request stands on its own: a reference, the citizen, the service, the office and its state.
A video appointment is one channel that belongs to a request (``appointment.case_id``); a
request may have none (an online request) or several (identity checked in a later call). The
decision (items, payment, delivery, case number) is filled in when the clerk completes it.

What an identity check keeps is deliberately narrow (German ID law, PAuswG §20: copies of an ID
card only with consent, so "the ID was presented" is the normal record): who checked, when, the
kind of document, which checks and security features were ticked, the outcome and its reason.
There is no column for an image, a scan or a document number, and the free-text columns are
short and refuse anything shaped like a document number (``cases.identity``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedByMunicipality, OwnedThroughCase, municipality_column
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
    open = "open"  # received, not decided yet
    completed = "completed"
    reopened = "reopened"  # an admin reopened the appointment; the next completion replaces it


class Channel(StrEnum):
    """How the request reached the office."""

    video = "video"  # a booked video appointment
    online = "online"  # a form, without an appointment


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


class IdentityCheck(SQLModel, OwnedThroughCase, table=True):
    """One identity check of one person of a request; several may be recorded, the latest per
    person counts. Person 1 is the applicant; a request for several people (a family) numbers
    the others 2, 3, ... The appointment is the call the check was made in, if any."""

    __tablename__ = "identity_check"
    __table_args__ = (
        _one_of("document_type", DocumentType, "ck_identity_check_document_type"),
        _one_of("outcome", Outcome, "ck_identity_check_outcome"),
        CheckConstraint("person >= 1 AND person <= 20", name="ck_identity_check_person"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    person: int = Field(default=1)
    appointment_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="SET NULL"), nullable=True, index=True
        ),
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


def _one_of_or_open(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    """``column`` is one of ``values``, or empty: not decided yet."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ('', {listed})", name=name)


# A decided request (completed or reopened) has all of its decision; an open one may not.
DECIDED = (
    "state = 'open' OR (case_number IS NOT NULL AND completed_at IS NOT NULL AND revision >= 1"
    " AND payment <> '' AND payment_status <> '' AND delivery <> '' AND dispatch_status <> '')"
)


class Case(SQLModel, OwnedByMunicipality, table=True):
    """A citizen's request (Vorgang). Its reference is what the citizen and the clerk quote
    (a video request takes its first appointment's); its case number (Kassenzeichen) is given
    when it is decided. The citizen's name and contact are the request's own copy: the
    appointment keeps the booking's, for its mails and its per-address limit."""

    __tablename__ = "case_file"  # "case" is an SQL keyword
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="ck_case_file_amount"),
        CheckConstraint("revision >= 0", name="ck_case_file_revision"),
        _one_of("state", CaseState, "ck_case_file_state"),
        _one_of("channel", Channel, "ck_case_file_channel"),
        _one_of_or_open("payment", Payment, "ck_case_file_payment"),
        _one_of_or_open("payment_status", PaymentStatus, "ck_case_file_payment_status"),
        _one_of_or_open("delivery", Delivery, "ck_case_file_delivery"),
        _one_of_or_open("dispatch_status", DispatchStatus, "ck_case_file_dispatch_status"),
        CheckConstraint(DECIDED, name="ck_case_file_decided"),
        # Each municipality numbers its own cases (``cases.numbers``).
        UniqueConstraint("municipality_id", "case_number", name="uq_case_file_case_number"),
        # An office's decisions of a period (the office's insights, ``insights``).
        Index("ix_case_file_office_completed", "office_id", "completed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    channel: str = Field(default=Channel.video, max_length=10)
    office_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="RESTRICT"), nullable=False)
    )
    given_name: str = Field(default="", max_length=100)
    family_name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=50)
    date_of_birth: dt.date | None = None
    locale: str = Field(default="de", max_length=16)

    case_number: str | None = Field(default=None, max_length=40, index=True)
    state: str = Field(default=CaseState.open, max_length=10, index=True)
    # Counts completions: a reopened and completed-again case has revision 2 (corrected notice).
    revision: int = Field(default=0)
    amount_cents: int = Field(default=0)
    currency: str = Field(default="EUR", max_length=3)
    # Empty while the request is open (``ck_case_file_decided``).
    payment: str = Field(default="", max_length=10)
    payment_status: str = Field(default="", max_length=20, index=True)
    delivery: str = Field(default="", max_length=10)
    dispatch_status: str = Field(default="", max_length=20, index=True)
    external_authority: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=1000)
    due_date: dt.date | None = None  # the fee is due then (open payments only)
    identity_check_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("identity_check.id", ondelete="SET NULL", use_alter=True,
                       name="fk_case_file_identity_check_id_identity_check"),
            nullable=True,
        ),
    )
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: int | None = None
    completed_by_label: str = Field(default="", max_length=254)
    reopened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def number(self) -> str:
        """The case number of a decided request (asking an open one is a programming error:
        letters, payments and lookups only ever see decided requests)."""
        if self.case_number is None:
            raise ValueError(f"request {self.reference} is not decided yet")
        return self.case_number

    @property
    def decided_at(self) -> dt.datetime:
        """When a decided request was (last) completed."""
        if self.completed_at is None:
            raise ValueError(f"request {self.reference} is not decided yet")
        return self.completed_at


class CaseItem(SQLModel, OwnedThroughCase, table=True):
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
    # Whose item, for a request of several people (1 the applicant, 2, 3, ... as on the identity
    # checks); None when the item is not one person's (migration 0013).
    person: int | None = None
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

    municipality_id: int = Field(sa_column=Column(
        Integer, ForeignKey("municipality.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False))
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_value: int = Field(default=0)
