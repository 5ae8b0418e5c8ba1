"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 09:31:52.480481

Generated from the models and reviewed: primary and foreign keys carry explicit names (the same on
SQLite and PostgreSQL, so later batch migrations can address them), check and unique constraints
keep the models' names, indexes are the models' ``ix_<table>_<column>``. No server defaults: the
models set every default in Python, and every row is written through them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index(op.f("ix_audit_event_action"), "audit_event", ["action"], unique=False)
    op.create_index(op.f("ix_audit_event_actor_id"), "audit_event", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"], unique=False)
    op.create_index(op.f("ix_audit_event_object_id"), "audit_event", ["object_id"], unique=False)
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job"),
    )
    op.create_index(op.f("ix_job_kind"), "job", ["kind"], unique=False)
    op.create_index(op.f("ix_job_run_after"), "job", ["run_after"], unique=False)
    op.create_index(op.f("ix_job_status"), "job", ["status"], unique=False)
    op.create_table(
        "office",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_office"),
    )
    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fee_schedule_ref", sa.String(length=200), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("requires_identity", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service"),
    )
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_user"),
    )
    op.create_index(op.f("ix_staff_user_email"), "staff_user", ["email"], unique=True)
    op.create_table(
        "closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], ondelete="CASCADE", name="fk_closure_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_closure"),
    )
    op.create_index(op.f("ix_closure_date"), "closure", ["date"], unique=False)
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=20), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 1", name="ck_schedule_capacity"),
        sa.CheckConstraint("slot_minutes >= 5", name="ck_schedule_slot_minutes"),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], ondelete="CASCADE", name="fk_schedule_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_schedule"),
    )
    op.create_table(
        "service_office",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            ondelete="CASCADE",
            name="fk_service_office_office_id_office",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            ondelete="CASCADE",
            name="fk_service_office_service_id_service",
        ),
        sa.PrimaryKeyConstraint("service_id", "office_id", name="pk_service_office"),
    )
    op.create_table(
        "staff_office",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            ondelete="CASCADE",
            name="fk_staff_office_office_id_office",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            ondelete="CASCADE",
            name="fk_staff_office_user_id_staff_user",
        ),
        sa.PrimaryKeyConstraint("user_id", "office_id", name="pk_staff_office"),
    )
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            ondelete="CASCADE",
            name="fk_staff_session_user_id_staff_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_session"),
    )
    op.create_index(
        op.f("ix_staff_session_token_hash"), "staff_session", ["token_hash"], unique=True
    )
    op.create_index(op.f("ix_staff_session_user_id"), "staff_session", ["user_id"], unique=False)
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_norm", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("link_nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ics_uid", sa.String(length=200), nullable=False),
        sa.Column("ics_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            ondelete="RESTRICT",
            name="fk_appointment_office_id_office",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            ondelete="SET NULL",
            name="fk_appointment_schedule_id_schedule",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            ondelete="RESTRICT",
            name="fk_appointment_service_id_service",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appointment"),
    )
    op.create_index(op.f("ix_appointment_email_norm"), "appointment", ["email_norm"], unique=False)
    op.create_index(
        op.f("ix_appointment_hold_expires_at"), "appointment", ["hold_expires_at"], unique=False
    )
    op.create_index(op.f("ix_appointment_reference"), "appointment", ["reference"], unique=True)
    op.create_index(op.f("ix_appointment_start_at"), "appointment", ["start_at"], unique=False)
    op.create_index(op.f("ix_appointment_status"), "appointment", ["status"], unique=False)
    op.create_index(op.f("ix_appointment_token_hash"), "appointment", ["token_hash"], unique=True)
    op.create_table(
        "schedule_service",
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            ondelete="CASCADE",
            name="fk_schedule_service_schedule_id_schedule",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            ondelete="CASCADE",
            name="fk_schedule_service_service_id_service",
        ),
        sa.PrimaryKeyConstraint("schedule_id", "service_id", name="pk_schedule_service"),
    )
    op.create_table(
        "call_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_call_event_appointment_id_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_user.id"],
            ondelete="SET NULL",
            name="fk_call_event_staff_user_id_staff_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_call_event"),
    )
    op.create_index(
        op.f("ix_call_event_appointment_id"), "call_event", ["appointment_id"], unique=False
    )
    op.create_index(op.f("ix_call_event_at"), "call_event", ["at"], unique=False)
    op.create_table(
        "call_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_call_token_appointment_id_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            ondelete="CASCADE",
            name="fk_call_token_user_id_staff_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_call_token"),
    )
    op.create_index(
        op.f("ix_call_token_appointment_id"), "call_token", ["appointment_id"], unique=False
    )
    op.create_index(op.f("ix_call_token_token_hash"), "call_token", ["token_hash"], unique=True)
    op.create_index(op.f("ix_call_token_user_id"), "call_token", ["user_id"], unique=False)
    op.create_table(
        "slot_seat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("unit_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("seat >= 0 AND seat < capacity", name="ck_slot_seat_capacity"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_slot_seat_appointment_id_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            ondelete="CASCADE",
            name="fk_slot_seat_schedule_id_schedule",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slot_seat"),
        sa.UniqueConstraint("schedule_id", "unit_start", "seat", name="uq_slot_seat"),
    )
    op.create_index(
        op.f("ix_slot_seat_appointment_id"), "slot_seat", ["appointment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_slot_seat_appointment_id"), table_name="slot_seat")
    op.drop_table("slot_seat")
    op.drop_index(op.f("ix_call_token_user_id"), table_name="call_token")
    op.drop_index(op.f("ix_call_token_token_hash"), table_name="call_token")
    op.drop_index(op.f("ix_call_token_appointment_id"), table_name="call_token")
    op.drop_table("call_token")
    op.drop_index(op.f("ix_call_event_at"), table_name="call_event")
    op.drop_index(op.f("ix_call_event_appointment_id"), table_name="call_event")
    op.drop_table("call_event")
    op.drop_table("schedule_service")
    op.drop_index(op.f("ix_appointment_token_hash"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_status"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_start_at"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_reference"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_hold_expires_at"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_email_norm"), table_name="appointment")
    op.drop_table("appointment")
    op.drop_index(op.f("ix_staff_session_user_id"), table_name="staff_session")
    op.drop_index(op.f("ix_staff_session_token_hash"), table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_table("staff_office")
    op.drop_table("service_office")
    op.drop_table("schedule")
    op.drop_index(op.f("ix_closure_date"), table_name="closure")
    op.drop_table("closure")
    op.drop_index(op.f("ix_staff_user_email"), table_name="staff_user")
    op.drop_table("staff_user")
    op.drop_table("service")
    op.drop_table("office")
    op.drop_index(op.f("ix_job_status"), table_name="job")
    op.drop_index(op.f("ix_job_run_after"), table_name="job")
    op.drop_index(op.f("ix_job_kind"), table_name="job")
    op.drop_table("job")
    op.drop_index(op.f("ix_audit_event_object_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_at"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_actor_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_action"), table_name="audit_event")
    op.drop_table("audit_event")
