"""staff single sign-on

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00.000000

Why: staff sign in through the town's OpenID Connect provider (``staff/oidc.py``); each staff
account may be linked to accounts there, known by issuer and subject (``sub``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE",
                                name="fk_staff_identity_user_id_staff_user"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_identity"),
        sa.UniqueConstraint("issuer", "subject", name="uq_staff_identity_subject"),
    )
    op.create_index(op.f("ix_staff_identity_user_id"), "staff_identity", ["user_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_identity_user_id"), table_name="staff_identity")
    op.drop_table("staff_identity")
