"""Staff accounts, their offices, and their sessions (web pages and API bearer tokens)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughOffice, municipality_column
from core.types import UTCDateTime, utcnow


class Role(StrEnum):
    clerk = "clerk"
    admin = "admin"
    # A machine account of the office's passport software: it may send document status
    # updates for its offices (``/api/v1/integration/document-status``) and nothing else.
    integration = "integration"
    # Runs the installation: creates municipalities and their first administrators
    # (``/api/v1/platform``); belongs to no municipality and opens none of their pages.
    platform_admin = "platform_admin"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    # None only for a platform administrator.
    municipality_id: int | None = Field(
        default=None, sa_column=municipality_column(stamped=False))
    display_name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(default=Role.clerk, max_length=20)
    active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffOffice(SQLModel, OwnedThroughOffice, table=True):
    __tablename__ = "staff_office"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True)
    )
    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True)
    )


class StaffTotp(SQLModel, table=True):
    """A confirmed TOTP second factor (``staff/totp.py``): the secret, encrypted with a key
    derived from the secret key, and the time step of the last code accepted (no replay)."""

    __tablename__ = "staff_totp"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True)
    )
    secret_encrypted: str = Field(max_length=200)
    last_step: int = Field(default=0, sa_type=BigInteger)
    enrolled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffRecoveryCode(SQLModel, table=True):
    """A single-use recovery code of a second factor; only its keyed hash is stored."""

    __tablename__ = "staff_recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(max_length=64, unique=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffIdentity(SQLModel, table=True):
    """An account at the town's identity provider (OpenID Connect): the issuer and its stable
    subject identifier (``sub``), linked to one staff account (``staff/oidc.py``)."""

    __tablename__ = "staff_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_staff_identity_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A login: ``kind`` is ``web`` (cookie) or ``api`` (bearer token).

    Only a keyed hash of the session secret is stored. The forms of a web session carry tokens
    signed over that hash (``app/csrf.py``).
    """

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(default="web", max_length=10)
    # ``full``, or a web login that still owes a step: ``otp`` (the second factor) or ``enrol``
    # (setting one up, where it is required). Such a session opens no staff page but that step.
    stage: str = Field(default="full", max_length=10)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
