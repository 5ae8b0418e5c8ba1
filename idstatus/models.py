"""Tables of the ID card / passport status.

``document_status`` holds one row per document (type and keyed hash of its number) with the
state the passport software last reported and the office that reported it. The document number
itself is never stored: ``serial_hash`` is HMAC-SHA256 under a key derived from the server's
secret (``idstatus.serials``). A number is unique per installation and type, whichever office
pushed it: the public lookup asks only for type and number, so two rows for one number would be
ambiguous. The newest report (by its time ``at``) wins, also when another office sends it.

``notify_email`` is the address a citizen left to be told once when the document is ready,
sealed with AES-GCM (``core.sealing``) and bound to its row; it is deleted right after the mail
went out (``notified_at`` says when it was queued). ``document_status_import`` keeps, per
office, how the columns and values of the passport software's CSV export are read.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughOffice
from core.types import UTCDateTime, utcnow


class DocumentType(StrEnum):
    id_card = "id_card"
    passport = "passport"


class DocumentState(StrEnum):
    in_production = "in_production"  # ordered, being made at the Bundesdruckerei
    shipped = "shipped"  # on its way to the office
    ready = "ready"  # at the office, ready for pickup
    collected = "collected"  # handed over; the row is deleted some days later


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class DocumentStatus(SQLModel, OwnedThroughOffice, table=True):
    __tablename__ = "document_status"
    __table_args__ = (
        UniqueConstraint("document_type", "serial_hash", name="uq_document_status_serial"),
        _one_of("document_type", DocumentType, "ck_document_status_type"),
        _one_of("status", DocumentState, "ck_document_status_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    document_type: str = Field(max_length=10)
    serial_hash: str = Field(max_length=64)  # hex HMAC-SHA256 of the normalised number
    status: str = Field(max_length=15)
    status_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)  # when it was reached
    notify_email: bytes | None = Field(default=None,
                                       sa_column=Column(LargeBinary, nullable=True))
    notify_locale: str = Field(default="de", max_length=16)
    notified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DocumentStatusImport(SQLModel, OwnedThroughOffice, table=True):
    """How one office's CSV export is read (``idstatus.csv_import.Mapping`` as JSON)."""

    __tablename__ = "document_status_import"

    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    )
    mapping: str = Field(default="{}", sa_type=Text)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
