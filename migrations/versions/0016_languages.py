"""languages of the town's residents: locale columns take ``de-x-ls``

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:30:00.000000

Why: a citizen's language is stored with the booking, the request, the waitlist wish and the
document-status notice so that their e-mails speak it; besides ``de`` and ``en`` these are now
``tr``, ``ar``, ``uk``, ``ru``, ``pl`` and Leichte Sprache ``de-x-ls`` (seven characters, more
than the five the columns took).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("appointment", "locale", False), ("case_file", "locale", True),
           ("waitlist_wish", "locale", False), ("document_status", "notify_locale", False))


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(length=16), existing_type=sa.String(length=5),
                               existing_nullable=nullable)


def downgrade() -> None:
    # A longer code would not fit the old width: those rows go back to German.
    for table, column, nullable in COLUMNS:
        op.execute(sa.text(f"UPDATE {table} SET {column} = 'de' "  # noqa: S608 (names above)
                           f"WHERE length({column}) > 5"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(length=5), existing_type=sa.String(length=16),
                               existing_nullable=nullable)
