"""office insights: the call's moments, and indexes for a period's figures

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 14:10:00.000000

Why: the office head's insights (``insights``) need what the call record did not keep in
one place: when the citizen first waited and was admitted, when the call started and ended,
and whether the media went directly or through the relay, how long it took to connect and
how many set-up attempts failed (``call_record``, written where each happens). The indexes
let a year of a large town's appointments, decisions, online requests and feedback be
summed per office without reading the whole tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "call_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("waiting_at", STAMP, nullable=True),
        sa.Column("admitted_at", STAMP, nullable=True),
        sa.Column("started_at", STAMP, nullable=True),
        sa.Column("ended_at", STAMP, nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("call_seconds", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=10), nullable=True),
        sa.Column("setup_ms", sa.Integer(), nullable=True),
        sa.Column("setup_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="CASCADE",
                                name="fk_call_record_appointment_id_appointment"),
        sa.PrimaryKeyConstraint("id", name="pk_call_record"),
        sa.UniqueConstraint("appointment_id", name="uq_call_record_appointment_id"),
    )
    op.create_index("ix_appointment_office_start", "appointment", ["office_id", "start_at"])
    op.create_index("ix_case_file_office_completed", "case_file", ["office_id", "completed_at"])
    op.create_index("ix_online_request_received", "online_request", ["received_at"])
    op.create_index("ix_online_request_decided", "online_request", ["decided_at"])
    op.create_index("ix_feedback_office_created", "feedback", ["office_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_office_created", table_name="feedback")
    op.drop_index("ix_online_request_decided", table_name="online_request")
    op.drop_index("ix_online_request_received", table_name="online_request")
    op.drop_index("ix_case_file_office_completed", table_name="case_file")
    op.drop_index("ix_appointment_office_start", table_name="appointment")
    op.drop_table("call_record")
