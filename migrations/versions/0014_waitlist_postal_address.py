"""a waitlist wish keeps the postal address of a service that delivers by post

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:40:00.000000

Why: a booking of a service whose documents are sent by post needs the citizen's postal address
(migration 0008); an offer from the waitlist books on the citizen's behalf, so the wish keeps the
address given when joining (lines, newline-separated; empty for other services).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("waitlist_wish") as batch:
        batch.add_column(sa.Column("postal_address", sa.Text(), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("waitlist_wish") as batch:
        batch.alter_column("postal_address", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("waitlist_wish") as batch:
        batch.drop_column("postal_address")
