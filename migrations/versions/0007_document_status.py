"""document status

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14 05:00:00.000000

Why: the public status of a new ID card or passport (``idstatus/``). ``document_status`` keeps
one row per document (type and keyed hash of its number, never the number) with the state the
passport software reported; ``document_status_import`` each office's mapping of its CSV export.
The staff role ``integration`` (the passport software's account) has 11 characters, so
``staff_user.role`` grows from 10 to 20 (on PostgreSQL a change of the catalogue only; SQLite
copies the table, with its foreign keys off as on the migration's own connection).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _foreign_keys_off() -> None:
    """Copying ``staff_user`` drops the old table: with foreign keys on, SQLite would delete
    every session, office link and second factor of every account with it."""
    if not _sqlite() or context.is_offline_mode():
        return
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
        if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError("0007 copies staff_user on SQLite and needs "
                               "PRAGMA foreign_keys=OFF")


def _role_length(old: int, new: int) -> None:
    _foreign_keys_off()
    with op.batch_alter_table("staff_user", recreate="always" if _sqlite() else "auto") as batch:
        batch.alter_column("role", existing_type=sa.String(length=old),
                           type_=sa.String(length=new), existing_nullable=False)


def upgrade() -> None:
    op.create_table(
        "document_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(length=10), nullable=False),
        sa.Column("serial_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("status_at", STAMP, nullable=False),
        sa.Column("notify_email", sa.LargeBinary(), nullable=True),
        sa.Column("notify_locale", sa.String(length=5), nullable=False),
        sa.Column("notified_at", STAMP, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint("document_type IN ('id_card', 'passport')",
                           name="ck_document_status_type"),
        sa.CheckConstraint("status IN ('in_production', 'shipped', 'ready', 'collected')",
                           name="ck_document_status_status"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE",
                                name="fk_document_status_office_id_office"),
        sa.PrimaryKeyConstraint("id", name="pk_document_status"),
        sa.UniqueConstraint("document_type", "serial_hash", name="uq_document_status_serial"),
    )
    for column in ("office_id", "status_at"):
        op.create_index(op.f(f"ix_document_status_{column}"), "document_status", [column],
                        unique=False)
    op.create_table(
        "document_status_import",
        sa.Column("office_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE",
                                name="fk_document_status_import_office_id_office"),
        sa.PrimaryKeyConstraint("office_id", name="pk_document_status_import"),
    )
    _role_length(10, 20)


def downgrade() -> None:
    # The release before knows no integration accounts and would take one for a clerk.
    op.execute("DELETE FROM staff_user WHERE role = 'integration'")
    _role_length(20, 10)
    op.drop_table("document_status_import")
    for column in ("status_at", "office_id"):
        op.drop_index(op.f(f"ix_document_status_{column}"), table_name="document_status")
    op.drop_table("document_status")
