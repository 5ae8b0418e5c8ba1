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
