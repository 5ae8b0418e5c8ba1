"""letter templates per office; the GiroCode's short beneficiary name

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:30:00.000000

Why: letters are rendered from templates an office adapts (``office_letter``: logo, greeting,
closing, signature line, legal-remedy text); the GiroCode's beneficiary name may hold 70
characters, so an office with a longer authority name sets a short one (``office.epc_name``),
and the remittance text's prefix before the case number is the office's (``Kassenzeichen``
by default).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("epc_name", sa.String(length=70), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("remittance_prefix", sa.String(length=100), nullable=False,
                                   server_default="Kassenzeichen"))
    with op.batch_alter_table("office") as batch:
        batch.alter_column("epc_name", server_default=None)
        batch.alter_column("remittance_prefix", server_default=None)
    op.create_table(
        "office_letter",
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("office.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("logo", sa.LargeBinary(), nullable=False),
        sa.Column("logo_type", sa.String(length=20), nullable=False),
        sa.Column("greeting", sa.String(length=100), nullable=False),
        sa.Column("closing", sa.String(length=100), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("legal_remedy", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("office_letter")
    with op.batch_alter_table("office") as batch:
        batch.drop_column("remittance_prefix")
        batch.drop_column("epc_name")
