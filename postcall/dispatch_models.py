"""Tables of what happens after the case: the citizen's postal address, the letters we issued
(stored as PDF bytes, so a download is the same document every time), the postal dispatch queue,
the hybrid-mail provider's webhook events (each stored once: replays are refused) and feedback.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughCase, OwnedThroughOffice
from core.types import UTCDateTime, utcnow


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class DocumentKind(StrEnum):
    fee_notice = "fee_notice"  # Gebührenbescheid, also the corrected one ("Geänderter Bescheid")
    receipt = "receipt"  # Zahlungsbestätigung for an online payment
    cover_letter = "cover_letter"  # Begleitschreiben for a postal case without a fee notice
    # The fee notice again, for the post, when the postal address came after the e-mailed one.
    postal_copy = "postal_copy"


class DispatchState(StrEnum):
    queued = "queued"
    printed = "printed"
    posted = "posted"  # handed to the post
    delivered = "delivered"
    returned = "returned"  # came back undeliverable
    cancelled = "cancelled"


class PostalAddress(SQLModel, OwnedThroughCase, table=True):
    """Where the citizen's letters go: the lines after the name (street, postcode and town).

    Keyed by the request, so the clerk can take it down during the call, before the request
    is decided. The name printed above it is the request's.
    """

    __tablename__ = "postal_address"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False,
            unique=True,
        )
    )
    lines: str = Field(default="", sa_type=Text)  # newline-separated
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def line_list(self) -> list[str]:
        return [line for line in self.lines.split("\n") if line.strip()]


class CaseDocument(SQLModel, OwnedThroughCase, table=True):
    """One letter issued for a case, as the exact PDF that was mailed, served and printed.

    ``origin`` says what caused it (``rev1`` the first notice of revision 1, ``job42`` a corrected
    notice made by job 42, ``receipt`` ...); it is unique per case, so a retried job or two
    racing requests find the one document instead of issuing a second.
    """

    __tablename__ = "case_document"
    __table_args__ = (
        UniqueConstraint("case_id", "origin", name="uq_case_document_origin"),
        _one_of("kind", DocumentKind, "ck_case_document_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=20)
    origin: str = Field(max_length=60)
    revision: int = Field(default=1)  # the case's revision it was issued for
    corrects_date: dt.date | None = None  # "Geänderter Bescheid": date of the one it replaces
    issue_date: dt.date
    due_date: dt.date | None = None
    total_cents: int = Field(default=0)
    open_cents: int = Field(default=0)  # what the GiroCode asks for (0: nothing to pay)
    refund_cents: int = Field(default=0)  # what a corrected notice gives back
    address_key: str = Field(default="", max_length=16)  # which window address it carries
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    mailed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The one job that mails it: a duplicate job finds the letter taken and sends nothing.
    mail_job_id: int | None = None

    @property
    def corrected(self) -> bool:
        return self.corrects_date is not None


class Dispatch(SQLModel, OwnedThroughOffice, table=True):
    """A letter to post for a case: queued → printed → posted → delivered | returned, or
    cancelled. The letter is a stored ``CaseDocument`` (fixed once printed or handed over)."""

    __tablename__ = "dispatch"
    __table_args__ = (_one_of("status", DispatchState, "ck_dispatch_status"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    office_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: str = Field(default=DispatchState.queued, max_length=20, index=True)
    # "" until a provider takes it: "print_room" (in a printed batch) or "hybrid".
    provider: str = Field(default="", max_length=20)
    provider_ref: str | None = Field(default=None, max_length=100, unique=True)
    provider_status: str = Field(default="", max_length=40)
    document_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("case_document.id", ondelete="SET NULL"), nullable=True
        ),
    )
    batch_date: dt.date = Field(index=True)  # the print room's batch it belongs to
    last_error: str = Field(default="", max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HybridMailEvent(SQLModel, table=True):
    """A webhook event of the hybrid-mail provider, stored once: the unique id refuses replays."""

    __tablename__ = "hybrid_mail_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=40)
    letter_ref: str = Field(default="", max_length=100)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Feedback(SQLModel, OwnedThroughOffice, table=True):
    """The citizen's rating (1–5) and optional comment after the call; one per appointment."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating >= 1 AND rating <= 5", name="ck_feedback_rating"),
        Index("ix_feedback_office_created", "office_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False,
            unique=True,
        )
    )
    office_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    rating: int
    comment: str = Field(default="", sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
