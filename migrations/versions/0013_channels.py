"""appointment channels: video, on site, by phone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:30:00.000000

Why: a service is offered by video, on site and/or by phone (``service.onsite``,
``service.phone``; ``service.bring`` says what to bring on site); a schedule's seats are shared
by every channel (``schedule.channel`` NULL) or kept for one; an appointment says which channel
it is (``appointment.channel``). Existing rows keep today's behaviour: services by video only,
schedules shared, appointments by video.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The defaults fill the existing rows, then go: the application always sets the values.
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("onsite", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("phone", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("bring", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("service") as batch:
        batch.alter_column("onsite", server_default=None)
        batch.alter_column("phone", server_default=None)
        batch.alter_column("bring", server_default=None)
    with op.batch_alter_table("schedule") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=True))
    with op.batch_alter_table("appointment") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=False,
                                   server_default="video"))
    with op.batch_alter_table("appointment") as batch:
        batch.alter_column("channel", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("service") as batch:
        batch.drop_column("bring")
        batch.drop_column("phone")
        batch.drop_column("onsite")
