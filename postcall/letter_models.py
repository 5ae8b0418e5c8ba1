"""The table of an office's letter template (``postcall.letter_templates``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughOffice
from core.types import UTCDateTime, utcnow


class OfficeLetter(SQLModel, OwnedThroughOffice, table=True):
    """What an office adapts in its letters. Kept apart from ``office`` so that the logo's
    bytes are read only when a letter is made."""

    __tablename__ = "office_letter"

    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True)
    )
    logo: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False, default=b""))
    logo_type: str = Field(default="", max_length=20)
    greeting: str = Field(default="Guten Tag", max_length=100)
    closing: str = Field(default="Mit freundlichen Grüßen", max_length=100)
    signature: str = Field(default="", sa_type=Text)
    legal_remedy: str = Field(default="", sa_type=Text)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
