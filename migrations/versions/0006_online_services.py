"""online services

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:00:00.000000

Why: citizens send requests without an appointment (``online/``). A catalogue service may be
offered online with a form of typed fields; a request's online part keeps its status, link,
answers, messages and sealed documents. A request may reach the same milestone more than once
(two questions from the office), so a milestone is unique per case, kind and detail.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_case_id_case_file")


def upgrade() -> None:
    op.create_table(
        "online_service",
        sa.Column("service_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("identity", sa.String(length=10), nullable=False),
        sa.Column("processing_days", sa.Integer(), nullable=False),
        sa.Column("anonymous_allowed", sa.Boolean(), nullable=False),
        sa.Column("video_service_id", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint("identity IN ('none', 'video')", name="ck_online_service_identity"),
        sa.ForeignKeyConstraint(["video_service_id"], ["service.id"], ondelete="SET NULL",
                                name="fk_online_service_video_service_id_service"),
        sa.CheckConstraint("processing_days >= 1 AND processing_days <= 365",
                           name="ck_online_service_processing_days"),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE",
                                name="fk_online_service_service_id_service"),
        sa.PrimaryKeyConstraint("service_id", name="pk_online_service"),
    )
    op.create_table(
        "online_service_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("hint", sa.String(length=500), nullable=False),
        sa.Column("hint_en", sa.String(length=500), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("max_bytes", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired_at", STAMP, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint(
            "type IN ('text', 'textarea', 'date', 'number', 'email', 'choice', 'checkbox', "
            "'address', 'file', 'location')", name="ck_online_service_field_type"),
        sa.CheckConstraint("max_bytes IS NULL OR max_bytes >= 1",
                           name="ck_online_service_field_max"),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE",
                                name="fk_online_service_field_service_id_service"),
        sa.PrimaryKeyConstraint("id", name="pk_online_service_field"),
        sa.UniqueConstraint("service_id", "key", name="uq_online_service_field_key"),
    )
    op.create_index(op.f("ix_online_service_field_service_id"), "online_service_field",
                    ["service_id"], unique=False)
    op.create_table(
        "online_request",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("link_nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email_norm", sa.String(length=254), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("assigned_label", sa.String(length=254), nullable=False),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("rejection_reason", sa.String(length=2000), nullable=False),
        sa.Column("submitted_at", STAMP, nullable=False),
        sa.Column("received_at", STAMP, nullable=True),
        sa.Column("due_at", STAMP, nullable=True),
        sa.Column("decided_at", STAMP, nullable=True),
        sa.Column("video_invited_at", STAMP, nullable=True),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'received', 'in_progress', 'waiting_for_citizen', "
            "'completed', 'rejected', 'withdrawn', 'expired')", name="ck_online_request_status"),
        _case_fk("online_request"),
        sa.PrimaryKeyConstraint("case_id", name="pk_online_request"),
    )
    for column, unique in (("status", False), ("token_hash", True),
                           ("assigned_to_id", False), ("due_at", False),
                           ("email_norm", False)):
        op.create_index(op.f(f"ix_online_request_{column}"), "online_request", [column],
                        unique=unique)
    op.create_table(
        "request_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("staff_label", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("documents_requested", sa.String(length=500), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.CheckConstraint("author IN ('citizen', 'office')", name="ck_request_message_author"),
        _case_fk("request_message"),
        sa.PrimaryKeyConstraint("id", name="pk_request_message"),
    )
    op.create_index(op.f("ix_request_message_case_id"), "request_message", ["case_id"],
                    unique=False)
    op.create_table(
        "request_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("field_key", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("scanned", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by", sa.String(length=10), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        _case_fk("request_document"),
        sa.PrimaryKeyConstraint("id", name="pk_request_document"),
    )
    op.create_index(op.f("ix_request_document_case_id"), "request_document", ["case_id"],
                    unique=False)
    with op.batch_alter_table("case_milestone") as batch:
        batch.drop_constraint("uq_case_milestone", type_="unique")
        batch.create_unique_constraint("uq_case_milestone", ["case_id", "kind", "detail"])


def downgrade() -> None:
    op.execute("DELETE FROM case_milestone WHERE id NOT IN "
               "(SELECT MIN(id) FROM case_milestone GROUP BY case_id, kind)")
    with op.batch_alter_table("case_milestone") as batch:
        batch.drop_constraint("uq_case_milestone", type_="unique")
        batch.create_unique_constraint("uq_case_milestone", ["case_id", "kind"])
    for table in ("request_document", "request_message"):
        op.drop_index(op.f(f"ix_{table}_case_id"), table_name=table)
        op.drop_table(table)
    for column in ("email_norm", "due_at", "assigned_to_id", "token_hash", "status"):
        op.drop_index(op.f(f"ix_online_request_{column}"), table_name="online_request")
    op.drop_table("online_request")
    op.drop_index(op.f("ix_online_service_field_service_id"), table_name="online_service_field")
    op.drop_table("online_service_field")
    op.drop_table("online_service")
