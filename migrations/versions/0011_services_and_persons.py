"""services and persons of one appointment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:45:00.000000

Why: one appointment may cover several services and further people (a family's passports).
``appointment_service`` lists the services of such an appointment, ``appointment_person`` its
further people (numbered from 2, as on the identity checks); ``service.extra_person_minutes``
says what each further person adds (NULL: the whole duration again); ``case_item.person`` says
whose item a fee is. Existing rows keep today's meaning: no rows, NULLs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("extra_person_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("case_item") as batch:
        batch.add_column(sa.Column("person", sa.Integer(), nullable=True))
    op.create_table(
        "appointment_service",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="CASCADE",
                                name="fk_appointment_service_appointment_id_appointment"),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="RESTRICT",
                                name="fk_appointment_service_service_id_service"),
        sa.PrimaryKeyConstraint("appointment_id", "position", name="pk_appointment_service"),
    )
    op.create_table(
        "appointment_person",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.CheckConstraint("person >= 2 AND person <= 20",
                           name="ck_appointment_person_person"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="CASCADE",
                                name="fk_appointment_person_appointment_id_appointment"),
        sa.PrimaryKeyConstraint("appointment_id", "person", name="pk_appointment_person"),
    )


def downgrade() -> None:
    op.drop_table("appointment_person")
    op.drop_table("appointment_service")
    with op.batch_alter_table("case_item") as batch:
        batch.drop_column("person")
    with op.batch_alter_table("service") as batch:
        batch.drop_column("extra_person_minutes")
