"""Tables of the booking domain: offices, services, schedules, closures, appointments, seats.

Capacity lives in ``slot_seat``: an appointment claims one seat per slot unit it covers, and the
unique key (schedule, unit start, seat) with ``CHECK (seat < capacity)`` lets the database, not
Python, refuse a booking beyond the number of parallel clerks.
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
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.tenancy import (
    OwnedByMunicipality,
    OwnedThroughOffice,
    OwnedThroughService,
    municipality_column,
)
from core.types import UTCDateTime, utcnow


class AppointmentStatus(StrEnum):
    reserved = "reserved"
    confirmed = "confirmed"
    in_call = "in_call"
    completed = "completed"
    no_show = "no_show"
    cancelled = "cancelled"
    expired = "expired"


# Statuses that hold a seat and count against the per-e-mail limit.
ACTIVE_STATUSES = (
    AppointmentStatus.reserved,
    AppointmentStatus.confirmed,
    AppointmentStatus.in_call,
)


def parse_weekdays(text: str) -> list[int]:
    """``"0,1,2,3,4"`` (Monday = 0) as numbers."""
    return [int(part) for part in text.split(",") if part != ""]


class Office(SQLModel, OwnedByMunicipality, table=True):
    __tablename__ = "office"

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    name: str = Field(max_length=200)
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    min_notice_minutes: int = Field(default=60)
    horizon_days: int = Field(default=60)
    authority: str = Field(default="", max_length=300)
    address: str = Field(default="", sa_type=Text)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=50)
    iban: str = Field(default="", max_length=34)
    bic: str = Field(default="", max_length=11)
    bank_name: str = Field(default="", max_length=200)
    # The GiroCode's beneficiary name where the authority's name is longer than the 70
    # characters EPC069-12 allows (empty: the authority's name), and the remittance text's
    # prefix before the case number (migration 0014).
    epc_name: str = Field(default="", max_length=70)
    remittance_prefix: str = Field(default="Kassenzeichen", max_length=100)
    # Shown on the privacy notice and the imprint (multi-line free text; empty: not shown).
    privacy_contact: str = Field(default="", sa_type=Text)
    data_protection_officer: str = Field(default="", sa_type=Text)
    imprint: str = Field(default="", sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Service(SQLModel, OwnedByMunicipality, table=True):
    __tablename__ = "service"

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_type=Text)
    description_en: str = Field(default="", sa_type=Text)
    duration_minutes: int = Field(default=15)
    # What each further person of one appointment adds for this service (None: the whole
    # duration again; an admin lowers it, e.g. for a child's passport). Migration 0013.
    extra_person_minutes: int | None = None
    fee_cents: int = Field(default=0)
    currency: str = Field(default="EUR", max_length=3)
    fee_schedule_ref: str = Field(default="", max_length=200)
    # The channels the service is offered by (``booking.channels``); none: not bookable.
    video: bool = Field(default=True)
    onsite: bool = Field(default=False)
    phone: bool = Field(default=False)
    # What to bring to an on-site appointment (shown on the link page and in the e-mails).
    bring: str = Field(default="", sa_type=Text)
    requires_identity: bool = Field(default=True)
    # The documents go by post: the booking asks for the postal address (migration 0008).
    delivers_by_post: bool = Field(default=False)
    active: bool = Field(default=True)
    sort_order: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ServiceOffice(SQLModel, OwnedThroughOffice, table=True):
    __tablename__ = "service_office"

    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    )
    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True)
    )


class Schedule(SQLModel, OwnedThroughOffice, table=True):
    """Weekly opening hours of an office for some services, with parallel clerks (capacity)."""

    __tablename__ = "schedule"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="ck_schedule_capacity"),
        CheckConstraint("slot_minutes >= 5", name="ck_schedule_slot_minutes"),
        CheckConstraint(
            "release_days_ahead IS NULL OR (release_days_ahead >= 0 AND "
            "release_days_ahead <= 3650)", name="ck_schedule_release_days_ahead"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False)
    )
    weekdays: str = Field(default="0,1,2,3,4", max_length=20)  # Monday=0, comma-separated
    start_time: dt.time
    end_time: dt.time
    slot_minutes: int = Field(default=15)
    capacity: int = Field(default=1)
    valid_from: dt.date
    valid_until: dt.date | None = None
    # Release rule (booking/release.py): the slots of day D open at ``release_time`` (office
    # wall clock) on D - ``release_days_ahead``; no time: no rule (migration 0012).
    release_time: dt.time | None = None
    release_days_ahead: int | None = None
    # None: the seats are shared by every channel its services offer; a channel
    # (``booking.channels``): seats for that channel only.
    channel: str | None = Field(default=None, max_length=10)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def weekday_list(self) -> list[int]:
        return parse_weekdays(self.weekdays)


class ScheduleService(SQLModel, OwnedThroughService, table=True):
    __tablename__ = "schedule_service"

    schedule_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schedule.id", ondelete="CASCADE"), primary_key=True)
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    )


class Closure(SQLModel, OwnedByMunicipality, table=True):
    """A day an office (or, with no office, every office) is closed."""

    __tablename__ = "closure"

    id: int | None = Field(default=None, primary_key=True)
    office_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=True),
    )
    # The municipality of the closure (one without an office closes all of its offices).
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    date: dt.date = Field(index=True)
    reason: str = Field(default="", max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Appointment(SQLModel, OwnedThroughOffice, table=True):
    __tablename__ = "appointment"
    # An office's appointments of a period (the office's insights, ``insights``).
    __table_args__ = (Index("ix_appointment_office_start", "office_id", "start_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False)
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="RESTRICT"), nullable=False)
    )
    schedule_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("schedule.id", ondelete="SET NULL"), nullable=True),
    )
    # The request (``cases``) this appointment is a channel of. Booking only carries the key:
    # requests build on appointments, not the other way round (README "Architecture").
    case_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=True, index=True
        ),
    )
    start_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    end_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=AppointmentStatus.reserved, max_length=20, index=True)
    # How the citizen and the clerk meet: video, onsite or phone (``booking.channels``).
    channel: str = Field(default="video", max_length=10)

    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    email_norm: str = Field(max_length=254, index=True)
    phone: str = Field(default="", max_length=50)
    date_of_birth: dt.date | None = None
    locale: str = Field(default="de", max_length=16)

    # The link token is derived from this nonce with the server key; only its keyed hash is
    # looked up. A database dump alone yields no usable link.
    link_nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    link_expires_at: dt.datetime = Field(sa_type=UTCDateTime)

    hold_expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    ics_uid: str = Field(max_length=200)
    ics_sequence: int = Field(default=0)

    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlotSeat(SQLModel, table=True):
    """One seat (parallel clerk) of one slot unit, claimed by one appointment."""

    __tablename__ = "slot_seat"
    __table_args__ = (
        UniqueConstraint("schedule_id", "unit_start", "seat", name="uq_slot_seat"),
        CheckConstraint("seat >= 0 AND seat < capacity", name="ck_slot_seat_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False)
    )
    unit_start: dt.datetime = Field(sa_type=UTCDateTime)
    seat: int
    capacity: int
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
