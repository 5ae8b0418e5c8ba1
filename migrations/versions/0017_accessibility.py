"""accessibility: the statement, barrier reports, sign-language videos

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:00:00.000000

Why: BITV 2.0 asks for an accessibility statement per installation with a way to report
barriers (answered within a set time), and for explanations in German Sign Language on the
start page; the videos are kept in the database like other uploads, served by the app itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accessibility_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conformance", sa.String(length=10), nullable=False),
        sa.Column("known_barriers", sa.Text(), nullable=False),
        sa.Column("alternatives", sa.Text(), nullable=False),
        sa.Column("prepared_on", sa.Date(), nullable=False),
        sa.Column("feedback_contact", sa.Text(), nullable=False),
        sa.Column("arbitration_body", sa.Text(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accessibility_statement"),
    )
    op.create_table(
        "barrier_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("page", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_barrier_report"),
    )
    op.create_index(op.f("ix_barrier_report_created_at"), "barrier_report", ["created_at"],
                    unique=False)
    op.create_table(
        "sign_video",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("video", sa.LargeBinary(), nullable=False),
        sa.Column("captions", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_video"),
    )
    op.create_index(op.f("ix_sign_video_place"), "sign_video", ["place"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_video_place"), table_name="sign_video")
    op.drop_table("sign_video")
    op.drop_index(op.f("ix_barrier_report_created_at"), table_name="barrier_report")
    op.drop_table("barrier_report")
    op.drop_table("accessibility_statement")
