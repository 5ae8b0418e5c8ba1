"""Tables of the video call: the clerk's short-lived call tokens and the call's event record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime, utcnow


class CallToken(SQLModel, table=True):
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


class CallEvent(SQLModel, table=True):
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


class GuestLink(SQLModel, table=True):
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
