"""staff second factor

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

Why: local staff accounts get a TOTP second factor with recovery codes (``staff/totp.py``), and
a web login may be half done: ``staff_session.stage`` is ``full``, or ``otp`` / ``enrol`` while
the second factor is still owed. Existing sessions are finished logins (``full``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=200), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE",
                                name="fk_staff_totp_user_id_staff_user"),
        sa.PrimaryKeyConstraint("user_id", name="pk_staff_totp"),
    )
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE",
                                name="fk_staff_recovery_code_user_id_staff_user"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_recovery_code"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(op.f("ix_staff_recovery_code_user_id"), "staff_recovery_code", ["user_id"],
                    unique=False)
    # Existing rows are finished logins; the default only fills them and is dropped again (the
    # application always writes the stage).
    op.add_column("staff_session", sa.Column("stage", sa.String(length=10), nullable=False,
                                             server_default="full"))
    with op.batch_alter_table("staff_session") as batch:
        batch.alter_column("stage", server_default=None, existing_type=sa.String(length=10),
                           existing_nullable=False)


def downgrade() -> None:
    # Half-done logins have no place at 0003: they go, and their users log in again.
    op.execute(sa.text("DELETE FROM staff_session WHERE stage <> 'full'"))
    with op.batch_alter_table("staff_session") as batch:
        batch.drop_column("stage")
    op.drop_index(op.f("ix_staff_recovery_code_user_id"), table_name="staff_recovery_code")
    op.drop_table("staff_recovery_code")
    op.drop_table("staff_totp")
