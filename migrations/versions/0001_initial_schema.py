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
        "case_number_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_case_number_counter"),
    )
    op.create_table(
        "hybrid_mail_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("letter_ref", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hybrid_mail_event"),
        sa.UniqueConstraint("event_id"),
    )
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
        sa.Column("privacy_contact", sa.Text(), nullable=False),
        sa.Column("data_protection_officer", sa.Text(), nullable=False),
        sa.Column("imprint", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_office"),
    )
    op.create_table(
        "payment_webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_webhook_event"),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_webhook_event"),
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
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name="ck_feedback_rating"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_feedback_appointment_id_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], ondelete="CASCADE", name="fk_feedback_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("appointment_id"),
    )
    op.create_index(op.f("ix_feedback_created_at"), "feedback", ["created_at"], unique=False)
    op.create_index(op.f("ix_feedback_office_id"), "feedback", ["office_id"], unique=False)
    op.create_table(
        "identity_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_by_label", sa.String(length=254), nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("checks", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "document_type IN ('id_card', 'passport', 'residence_permit', 'other')",
            name="ck_identity_check_document_type",
        ),
        sa.CheckConstraint("outcome IN ('verified', 'failed')", name="ck_identity_check_outcome"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_identity_check_appointment_id_appointment",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identity_check"),
    )
    op.create_index(
        op.f("ix_identity_check_appointment_id"), "identity_check", ["appointment_id"], unique=False
    )
    op.create_table(
        "postal_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="CASCADE",
            name="fk_postal_address_appointment_id_appointment",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_postal_address"),
        sa.UniqueConstraint("appointment_id"),
    )
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
    op.create_table(
        "case_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment", sa.String(length=10), nullable=False),
        sa.Column("payment_status", sa.String(length=20), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("dispatch_status", sa.String(length=20), nullable=False),
        sa.Column("external_authority", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("identity_check_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_by_label", sa.String(length=254), nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "delivery IN ('post', 'email', 'pickup', 'external')", name="ck_case_file_delivery"
        ),
        sa.CheckConstraint(
            "dispatch_status IN ('not_required', 'queued', 'printed', 'posted', 'delivered', 'returned', 'cancelled', 'forwarded')",
            name="ck_case_file_dispatch_status",
        ),
        sa.CheckConstraint("payment IN ('invoice', 'online', 'none')", name="ck_case_file_payment"),
        sa.CheckConstraint(
            "payment_status IN ('not_required', 'open', 'paid', 'failed', 'refunded')",
            name="ck_case_file_payment_status",
        ),
        sa.CheckConstraint("state IN ('completed', 'reopened')", name="ck_case_file_state"),
        sa.CheckConstraint("amount_cents >= 0", name="ck_case_file_amount"),
        sa.CheckConstraint("revision >= 1", name="ck_case_file_revision"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            ondelete="RESTRICT",
            name="fk_case_file_appointment_id_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["identity_check_id"],
            ["identity_check.id"],
            ondelete="SET NULL",
            name="fk_case_file_identity_check_id_identity_check",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], ondelete="RESTRICT", name="fk_case_file_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_file"),
        sa.UniqueConstraint("appointment_id"),
    )
    op.create_index(op.f("ix_case_file_case_number"), "case_file", ["case_number"], unique=True)
    op.create_index(
        op.f("ix_case_file_dispatch_status"), "case_file", ["dispatch_status"], unique=False
    )
    op.create_index(op.f("ix_case_file_office_id"), "case_file", ["office_id"], unique=False)
    op.create_index(
        op.f("ix_case_file_payment_status"), "case_file", ["payment_status"], unique=False
    )
    op.create_table(
        "case_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=60), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("corrects_date", sa.Date(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("open_cents", sa.Integer(), nullable=False),
        sa.Column("refund_cents", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(length=16), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mail_job_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('fee_notice', 'receipt', 'cover_letter', 'postal_copy')",
            name="ck_case_document_kind",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            ondelete="CASCADE",
            name="fk_case_document_case_id_case_file",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_document"),
        sa.UniqueConstraint("case_id", "origin", name="uq_case_document_origin"),
    )
    op.create_index(op.f("ix_case_document_case_id"), "case_document", ["case_id"], unique=False)
    op.create_table(
        "case_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("fee_schedule_ref", sa.String(length=200), nullable=False),
        sa.Column("unit_fee_cents", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("amount_cents = unit_fee_cents * quantity", name="ck_case_item_amount"),
        sa.CheckConstraint("quantity >= 1 AND quantity <= 20", name="ck_case_item_quantity"),
        sa.CheckConstraint("unit_fee_cents >= 0", name="ck_case_item_unit_fee"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], ondelete="CASCADE", name="fk_case_item_case_id_case_file"
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            ondelete="SET NULL",
            name="fk_case_item_service_id_service",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_item"),
    )
    op.create_index(op.f("ix_case_item_case_id"), "case_item", ["case_id"], unique=False)
    op.create_table(
        "case_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            ondelete="CASCADE",
            name="fk_case_milestone_case_id_case_file",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_milestone"),
        sa.UniqueConstraint("case_id", "kind", name="uq_case_milestone"),
    )
    op.create_index(op.f("ix_case_milestone_case_id"), "case_milestone", ["case_id"], unique=False)
    op.create_table(
        "payment_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('creating', 'open', 'pending', 'paid', 'failed', 'expired', 'error')",
            name="ck_payment_attempt_status",
        ),
        sa.CheckConstraint("amount_cents > 0", name="ck_payment_attempt_amount"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            ondelete="RESTRICT",
            name="fk_payment_attempt_case_id_case_file",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_payment_attempt"),
        sa.UniqueConstraint("public_id"),
        sa.UniqueConstraint("session_id"),
    )
    op.create_index(
        op.f("ix_payment_attempt_case_id"), "payment_attempt", ["case_id"], unique=False
    )
    op.create_index(op.f("ix_payment_attempt_status"), "payment_attempt", ["status"], unique=False)
    op.create_table(
        "dispatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("provider_status", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("batch_date", sa.Date(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'printed', 'posted', 'delivered', 'returned', 'cancelled')",
            name="ck_dispatch_status",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], ondelete="CASCADE", name="fk_dispatch_case_id_case_file"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["case_document.id"],
            ondelete="SET NULL",
            name="fk_dispatch_document_id_case_document",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], ondelete="CASCADE", name="fk_dispatch_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch"),
        sa.UniqueConstraint("provider_ref"),
    )
    op.create_index(op.f("ix_dispatch_batch_date"), "dispatch", ["batch_date"], unique=False)
    op.create_index(op.f("ix_dispatch_case_id"), "dispatch", ["case_id"], unique=False)
    op.create_index(op.f("ix_dispatch_office_id"), "dispatch", ["office_id"], unique=False)
    op.create_index(op.f("ix_dispatch_status"), "dispatch", ["status"], unique=False)
    op.create_table(
        "payment_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'pending', 'succeeded', 'failed')",
            name="ck_payment_refund_status",
        ),
        sa.CheckConstraint("amount_cents > 0", name="ck_payment_refund_amount"),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempt.id"],
            ondelete="RESTRICT",
            name="fk_payment_refund_attempt_id_payment_attempt",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            ondelete="RESTRICT",
            name="fk_payment_refund_case_id_case_file",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_payment_refund"),
        sa.UniqueConstraint("provider_refund_id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index(
        op.f("ix_payment_refund_attempt_id"), "payment_refund", ["attempt_id"], unique=False
    )
    op.create_index(op.f("ix_payment_refund_case_id"), "payment_refund", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_refund_case_id"), table_name="payment_refund")
    op.drop_index(op.f("ix_payment_refund_attempt_id"), table_name="payment_refund")
    op.drop_table("payment_refund")
    op.drop_index(op.f("ix_dispatch_status"), table_name="dispatch")
    op.drop_index(op.f("ix_dispatch_office_id"), table_name="dispatch")
    op.drop_index(op.f("ix_dispatch_case_id"), table_name="dispatch")
    op.drop_index(op.f("ix_dispatch_batch_date"), table_name="dispatch")
    op.drop_table("dispatch")
    op.drop_index(op.f("ix_payment_attempt_status"), table_name="payment_attempt")
    op.drop_index(op.f("ix_payment_attempt_case_id"), table_name="payment_attempt")
    op.drop_table("payment_attempt")
    op.drop_index(op.f("ix_case_milestone_case_id"), table_name="case_milestone")
    op.drop_table("case_milestone")
    op.drop_index(op.f("ix_case_item_case_id"), table_name="case_item")
    op.drop_table("case_item")
    op.drop_index(op.f("ix_case_document_case_id"), table_name="case_document")
    op.drop_table("case_document")
    op.drop_index(op.f("ix_case_file_payment_status"), table_name="case_file")
    op.drop_index(op.f("ix_case_file_office_id"), table_name="case_file")
    op.drop_index(op.f("ix_case_file_dispatch_status"), table_name="case_file")
    op.drop_index(op.f("ix_case_file_case_number"), table_name="case_file")
    op.drop_table("case_file")
    op.drop_index(op.f("ix_slot_seat_appointment_id"), table_name="slot_seat")
    op.drop_table("slot_seat")
    op.drop_table("postal_address")
    op.drop_index(op.f("ix_identity_check_appointment_id"), table_name="identity_check")
    op.drop_table("identity_check")
    op.drop_index(op.f("ix_feedback_office_id"), table_name="feedback")
    op.drop_index(op.f("ix_feedback_created_at"), table_name="feedback")
    op.drop_table("feedback")
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
    op.drop_table("payment_webhook_event")
    op.drop_table("office")
    op.drop_index(op.f("ix_job_status"), table_name="job")
    op.drop_index(op.f("ix_job_run_after"), table_name="job")
    op.drop_index(op.f("ix_job_kind"), table_name="job")
    op.drop_table("job")
    op.drop_table("hybrid_mail_event")
    op.drop_table("case_number_counter")
    op.drop_index(op.f("ix_audit_event_object_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_at"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_actor_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_action"), table_name="audit_event")
    op.drop_table("audit_event")
