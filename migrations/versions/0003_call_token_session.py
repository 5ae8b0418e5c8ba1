"""a call token belongs to the staff session that asked for it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 02:20:00.000000

Why: a clerk's open call must end when the clerk logs out or the login expires, not only when
the call token itself runs out. ``call_token.staff_session_id`` names the login (web or API)
that asked for the token; ending that login deletes its call tokens (ON DELETE CASCADE), and
the signalling hub, which checks the open calls' tokens every few seconds, closes the call.

Call tokens live minutes to hours and are fetched again by the call page on every connect:
those issued before this revision have no login to hang on and are deleted (a clerk in a call
reconnects with a fresh one). Downgrade drops the column; the tokens stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM call_token")
    # call_token is referred to by no table: copying it on SQLite cascades nowhere.
    with op.batch_alter_table("call_token") as batch:
        batch.add_column(sa.Column("staff_session_id", sa.Integer(), nullable=False))
        batch.create_foreign_key("fk_call_token_staff_session_id_staff_session",
                                 "staff_session", ["staff_session_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_call_token_staff_session_id", ["staff_session_id"])


def downgrade() -> None:
    with op.batch_alter_table("call_token") as batch:
        batch.drop_index("ix_call_token_staff_session_id")
        batch.drop_constraint("fk_call_token_staff_session_id_staff_session",
                              type_="foreignkey")
        batch.drop_column("staff_session_id")
