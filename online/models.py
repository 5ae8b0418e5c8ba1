"""Tables of online services: requests a citizen sends without an appointment.

An online service is a row of the office's service catalogue (``service``, so fee items, case
numbers and letters work as for video services) with a form: ``online_service`` says how it is
handled (identity check by video or not, the expected processing time, whether it may be sent
anonymously) and ``online_service_field`` lists its typed fields. A retired field is kept (with
``retired_at``) so that earlier requests' answers stay readable under their label.

A request (``case_file`` with channel ``online``) has its online part in ``online_request``: the
status the citizen follows, the link token's nonce and hash, the answers, the clerk who works on
it. Its messages (questions from the office, answers from the citizen) and its documents
(uploads, sealed with AES-GCM under a key derived from the server's secret) are rows of their
own and go with the request when it is erased.
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

from core.tenancy import OwnedThroughCase, OwnedThroughService
from core.types import UTCDateTime, utcnow


class FieldType(StrEnum):
    text = "text"
    textarea = "textarea"
    date = "date"
    number = "number"
    email = "email"
    choice = "choice"
    checkbox = "checkbox"
    address = "address"
    file = "file"
    location = "location"


class Identity(StrEnum):
    none = "none"
    video = "video"  # completion needs an identity check recorded in a video call


class RequestStatus(StrEnum):
    submitted = "submitted"  # waiting for the citizen to confirm the link (double opt-in)
    received = "received"
    in_progress = "in_progress"
    waiting_for_citizen = "waiting_for_citizen"
    completed = "completed"
    rejected = "rejected"
    withdrawn = "withdrawn"
    expired = "expired"  # never confirmed


# A clerk may work on these; the others are closed or not confirmed yet.
OPEN_STATUSES = (RequestStatus.received, RequestStatus.in_progress,
                 RequestStatus.waiting_for_citizen)
CLOSED_STATUSES = (RequestStatus.completed, RequestStatus.rejected, RequestStatus.withdrawn,
                   RequestStatus.expired)


class Author(StrEnum):
    citizen = "citizen"
    office = "office"


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class OnlineService(SQLModel, OwnedThroughService, table=True):
    """How a catalogue service is offered online (one row per service that is)."""

    __tablename__ = "online_service"
    __table_args__ = (
        _one_of("identity", Identity, "ck_online_service_identity"),
        CheckConstraint("processing_days >= 1 AND processing_days <= 365",
                        name="ck_online_service_processing_days"),
    )

    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    )
    identity: str = Field(default=Identity.none, max_length=10)
    processing_days: int = Field(default=10)  # expected processing time, in calendar days
    anonymous_allowed: bool = Field(default=False)
    # The bookable video service a citizen books from the request when the clerk asks for an
    # identity check by video (e.g. "Identitätsprüfung per Video", 10 minutes, no fee).
    video_service_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FormField(SQLModel, OwnedThroughService, table=True):
    """One typed field of an online service's form. ``options`` holds the choices of a
    ``choice`` field as JSON (``[{"value", "label", "label_en"}]``)."""

    __tablename__ = "online_service_field"
    __table_args__ = (
        UniqueConstraint("service_id", "key", name="uq_online_service_field_key"),
        _one_of("type", FieldType, "ck_online_service_field_type"),
        CheckConstraint("max_bytes IS NULL OR max_bytes >= 1", name="ck_online_service_field_max"),
    )

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key: str = Field(max_length=40)
    type: str = Field(max_length=12)
    label: str = Field(max_length=200)
    label_en: str = Field(default="", max_length=200)
    hint: str = Field(default="", max_length=500)
    hint_en: str = Field(default="", max_length=500)
    required: bool = Field(default=False)
    options: str = Field(default="[]", sa_type=Text)
    max_bytes: int | None = None  # file fields: the largest upload
    position: int = Field(default=0)
    retired_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OnlineRequest(SQLModel, OwnedThroughCase, table=True):
    """The online part of a request (``case_file`` with channel ``online``)."""

    __tablename__ = "online_request"
    __table_args__ = (
        _one_of("status", RequestStatus, "ck_online_request_status"),
        # Requests received and decided in a period (the office's insights, ``insights``).
        Index("ix_online_request_received", "received_at"),
        Index("ix_online_request_decided", "decided_at"),
    )

    case_id: int = Field(
        sa_column=Column(Integer, ForeignKey("case_file.id", ondelete="CASCADE"),
                         primary_key=True, autoincrement=False)
    )
    status: str = Field(default=RequestStatus.submitted, max_length=20, index=True)
    link_nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    email_norm: str = Field(max_length=254, index=True)  # for the per-address limit
    answers: str = Field(default="{}", sa_type=Text)  # JSON: field key -> answer
    anonymous: bool = Field(default=False)
    assigned_to_id: int | None = Field(default=None, index=True)  # a staff user (no key)
    assigned_label: str = Field(default="", max_length=254)
    # The citizen answered a question: shown highlighted in the inbox until a clerk replies.
    needs_attention: bool = Field(default=False)
    rejection_reason: str = Field(default="", max_length=2000)
    submitted_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    received_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    video_invited_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RequestMessage(SQLModel, OwnedThroughCase, table=True):
    """A message of a request: a question from the office (with the form keys of documents
    still needed) or the citizen's answer."""

    __tablename__ = "request_message"
    __table_args__ = (_one_of("author", Author, "ck_request_message_author"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    author: str = Field(max_length=10)
    staff_id: int | None = None
    staff_label: str = Field(default="", max_length=254)
    text: str = Field(default="", sa_type=Text)
    documents_requested: str = Field(default="", max_length=500)  # comma-separated field keys
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def requested_keys(self) -> list[str]:
        return [key for key in self.documents_requested.split(",") if key]


class RequestDocument(SQLModel, OwnedThroughCase, table=True):
    """An uploaded document, sealed (AES-GCM, nonce + ciphertext) so that a copy of the
    database shows no plain bytes. ``scanned`` is ``clean`` when a virus scanner passed it and
    ``unscanned`` when none was configured (development only)."""

    __tablename__ = "request_document"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    field_key: str = Field(max_length=40)
    filename: str = Field(max_length=120)
    content_type: str = Field(max_length=50)
    size: int
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    scanned: str = Field(default="clean", max_length=10)
    uploaded_by: str = Field(default=Author.citizen, max_length=10)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
