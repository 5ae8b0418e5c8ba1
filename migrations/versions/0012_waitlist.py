"""waitlist

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 11:45:00.000000

Why: citizens wait for a place of a service at an office within time windows; a freed place is
held for the first fitting wish and offered by e-mail (``booking.waitlist``). ``waitlist_wish``
keeps the wish, its link's keyed hash and the appointment held for its offer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)
INDEXED = ("reference", "email_norm", "status", "token_hash", "offer_expires_at", "created_at")
UNIQUE = ("reference", "token_hash")


def upgrade() -> None:
    op.create_table(
        "waitlist_wish",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_norm", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("link_nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("link_expires_at", STAMP, nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("offer_expires_at", STAMP, nullable=True),
        sa.Column("passed", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE",
                                name="fk_waitlist_wish_office_id_office"),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE",
                                name="fk_waitlist_wish_service_id_service"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="SET NULL",
                                name="fk_waitlist_wish_appointment_id_appointment"),
        sa.PrimaryKeyConstraint("id", name="pk_waitlist_wish"),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_waitlist_wish_{column}"), "waitlist_wish", [column],
                        unique=column in UNIQUE)


def downgrade() -> None:
    for column in reversed(INDEXED):
        op.drop_index(op.f(f"ix_waitlist_wish_{column}"), table_name="waitlist_wish")
    op.drop_table("waitlist_wish")
