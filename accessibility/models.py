"""Tables of the accessibility statement, the barrier reports and the sign-language videos."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedByMunicipality, municipality_column
from core.types import UTCDateTime, utcnow


class Conformance(StrEnum):
    """How far the site meets BITV 2.0 (WCAG 2.1 AA): the statement's required status."""

    full = "full"
    partial = "partial"
    none = "none"


class AccessibilityStatement(SQLModel, OwnedByMunicipality, table=True):
    """A municipality's statement (one row each), written by an admin; the page
    ``/barrierefreiheit`` shows it with the report form."""

    __tablename__ = "accessibility_statement"

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    conformance: str = Field(default=Conformance.partial.value, max_length=10)
    known_barriers: str = Field(default="", sa_type=Text)  # what is not accessible, and why
    alternatives: str = Field(default="", sa_type=Text)  # accessible ways to the same service
    prepared_on: dt.date
    feedback_contact: str = Field(default="", sa_type=Text)  # e-mail, phone, address
    arbitration_body: str = Field(default="", sa_type=Text)  # the state's Schlichtungsstelle
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BarrierReport(SQLModel, OwnedByMunicipality, table=True):
    """A barrier a citizen reported on ``/barrierefreiheit``; the office answers by
    ``answer_by`` (``BUERO_BARRIER_ANSWER_DAYS`` after it came in) when an address is given."""

    __tablename__ = "barrier_report"

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    description: str = Field(sa_type=Text)
    page: str = Field(default="", max_length=500)
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    locale: str = Field(default="de", max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    answer_by: dt.date


class SignVideo(SQLModel, OwnedByMunicipality, table=True):
    """A short sign-language video (MP4 or WebM) with its captions (WebVTT), uploaded by an
    admin and served from this installation only."""

    __tablename__ = "sign_video"

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int | None = Field(default=None, sa_column=municipality_column())
    place: str = Field(max_length=20, index=True)  # "start" or "statement"
    title: str = Field(max_length=200)
    media_type: str = Field(max_length=20)  # video/mp4 or video/webm
    video: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    captions: str = Field(sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
