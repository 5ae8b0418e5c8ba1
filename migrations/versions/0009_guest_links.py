"""guest links

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:15:00.000000

Why: a third participant in a video call (an interpreter or sign-language interpreter) joins by
a one-time link the clerk issues (``calls.guests``). ``guest_link`` keeps keyed hashes only: of
the link's token and of the one browser it is bound to.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guest_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("bound_at", STAMP, nullable=True),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="CASCADE",
                                name="fk_guest_link_appointment_id_appointment"),
        sa.ForeignKeyConstraint(["created_by"], ["staff_user.id"], ondelete="SET NULL",
                                name="fk_guest_link_created_by_staff_user"),
        sa.PrimaryKeyConstraint("id", name="pk_guest_link"),
    )
    op.create_index(op.f("ix_guest_link_appointment_id"), "guest_link", ["appointment_id"],
                    unique=False)
    op.create_index(op.f("ix_guest_link_token_hash"), "guest_link", ["token_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_guest_link_token_hash"), table_name="guest_link")
    op.drop_index(op.f("ix_guest_link_appointment_id"), table_name="guest_link")
    op.drop_table("guest_link")
