"""Tables of the video call: the clerk's short-lived call tokens and the call's event record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughAppointment
from core.types import UTCDateTime, utcnow


class CallToken(SQLModel, OwnedThroughAppointment, table=True):
    """A clerk's pass into one appointment's call, given out once by the API.

    Only a keyed hash of the token is stored; it works for this appointment only and expires
    with the join window (or sooner, ``BUERO_CALL_TOKEN_MINUTES``), and with the login that
    asked for it (``staff_session_id``: a logout deletes it).
    """

    __tablename__ = "call_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    staff_session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_session.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallEvent(SQLModel, OwnedThroughAppointment, table=True):
    """What happened in an appointment's call: ``joined``, ``admitted``, ``connected``, ``left``,
    ``ended``, by role (``citizen`` or ``clerk``); the clerk's staff user when known."""

    __tablename__ = "call_event"

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event: str = Field(max_length=20)
    role: str = Field(max_length=10)
    staff_user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
        ),
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class GuestLink(SQLModel, OwnedThroughAppointment, table=True):
    """A one-time link for a third participant (an interpreter) in one appointment's call.

    Only keyed hashes are stored: of the link's token, and of the secret of the one browser the
    link is bound to on first use (``device_hash``; a second device is refused). It works in the
    appointment's join window only (``expires_at`` is its end) and until the clerk revokes it
    (``revoked_at``); issuing a new link revokes the previous one.
    """

    __tablename__ = "guest_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=20)  # interpreter | sign_language
    name: str = Field(default="", max_length=100)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff_user.id", ondelete="SET NULL"),
                         nullable=True),
    )
    device_hash: str | None = Field(default=None, max_length=64)
    bound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallRecord(SQLModel, OwnedThroughAppointment, table=True):
    """The moments of one appointment's call that the office's figures need, kept when they
    happen (``calls.record``), so a year of calls is summed without replaying the events:
    when the citizen first waited, was first admitted, when the call started and ended, and
    what the clerk's browser reported about the media connection (direct or through the
    relay, the set-up time, set-up attempts that failed). One row per appointment."""

    __tablename__ = "call_record"

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False,
            unique=True,
        )
    )
    waiting_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    admitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # From the citizen's first waiting to the first admission (0 when let in on arrival).
    wait_seconds: int | None = None
    # From the call's start to its end by the clerk.
    call_seconds: int | None = None
    # The media connection as the clerk's browser saw it: ``direct`` or ``relay`` (TURN) once
    # connected, the milliseconds from the start to connected, and attempts that failed first.
    route: str | None = Field(default=None, max_length=10)
    setup_ms: int | None = None
    setup_failures: int = Field(default=0)
