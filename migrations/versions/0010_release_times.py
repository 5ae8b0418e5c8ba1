"""release times

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 11:45:00.000000

Why: a schedule may release its slots at a fixed local time, a number of days ahead (every day
at 07:00 the day three weeks ahead), as towns do against the rush for new appointments
(``booking/release.py``). Both columns empty: no release rule, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.add_column(sa.Column("release_time", sa.Time(), nullable=True))
        batch.add_column(sa.Column("release_days_ahead", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            "ck_schedule_release_days_ahead",
            "release_days_ahead IS NULL OR (release_days_ahead >= 0 AND release_days_ahead <= 3650)")


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_constraint("ck_schedule_release_days_ahead", type_="check")
        batch.drop_column("release_days_ahead")
        batch.drop_column("release_time")
