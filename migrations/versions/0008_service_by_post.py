"""service documents by post

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-21 06:00:00.000000

Why: a service whose documents are sent by post needs the citizen's postal address. The
booking asks for it when ``service.delivers_by_post`` is set, the clerk confirms it in the call,
and a completion by post without one is refused. Existing services keep today's behaviour
(false: the address is not asked at booking).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The default fills the existing rows, then goes: the application always sets the value.
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("delivers_by_post", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("service") as batch:
        batch.alter_column("delivers_by_post", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("delivers_by_post")
