"""municipalities: one installation for several towns

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:40:00.000000

Why: a municipality (``municipality``) owns its offices, services (online services are
services), staff accounts, closures, requests (``case_file``), audit events, jobs, its
accessibility statement, barrier reports and sign-language videos, and is
reached by its host names. Today's data becomes the default municipality (id 1), named after
the first office's authority; every existing row is backfilled with it, so an installation
with one municipality behaves as before. Case numbers are counted and unique per municipality.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED = ("office", "service", "closure", "case_file", "accessibility_statement",
         "barrier_report", "sign_video")  # NOT NULL
OPTIONAL = ("staff_user", "audit_event", "job")  # NULL: a platform admin / the worker's own


def upgrade() -> None:
    municipality = op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hosts", sa.Text(), nullable=False),
        sa.Column("path_prefix", sa.String(length=100), nullable=False),
        sa.Column("logo_url", sa.String(length=500), nullable=False),
        sa.Column("accent_colour", sa.String(length=7), nullable=False),
        sa.Column("imprint", sa.Text(), nullable=False),
        sa.Column("privacy_statement", sa.Text(), nullable=False),
        sa.Column("accessibility_statement", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    authority = bind.execute(sa.text(
        "SELECT authority FROM office WHERE authority <> '' ORDER BY id LIMIT 1")).scalar()
    now = sa.func.current_timestamp()
    op.execute(municipality.insert().values(
        id=1, name=authority or "Bürgerbüro", hosts="", path_prefix="", logo_url="",
        accent_colour="", imprint="", privacy_statement="", accessibility_statement="",
        created_at=now, updated_at=now))
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('municipality', 'id'), 1)")

    for table in OWNED + OPTIONAL:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(
                "municipality_id", sa.Integer(), nullable=table in OPTIONAL,
                server_default=None if table in OPTIONAL else "1"))
            batch.create_foreign_key(f"fk_{table}_municipality_id", "municipality",
                                     ["municipality_id"], ["id"], ondelete="RESTRICT")
            batch.create_index(f"ix_{table}_municipality_id", ["municipality_id"])
        if table in OPTIONAL:
            op.execute(f"UPDATE {table} SET municipality_id = 1")  # noqa: S608 (names above)
        else:
            with op.batch_alter_table(table) as batch:
                batch.alter_column("municipality_id", server_default=None)

    with op.batch_alter_table("case_file") as batch:
        batch.drop_index("ix_case_file_case_number")
        batch.create_index("ix_case_file_case_number", ["case_number"], unique=False)
        batch.create_unique_constraint("uq_case_file_case_number",
                                       ["municipality_id", "case_number"])

    op.create_table(
        "case_number_counter_new",
        sa.Column("municipality_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipality.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("municipality_id", "year"),
    )
    op.execute("INSERT INTO case_number_counter_new (municipality_id, year, last_value) "
               "SELECT 1, year, last_value FROM case_number_counter")
    op.drop_table("case_number_counter")
    op.rename_table("case_number_counter_new", "case_number_counter")


def downgrade() -> None:
    op.create_table(
        "case_number_counter_old",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_case_number_counter"),
    )
    op.execute("INSERT INTO case_number_counter_old (year, last_value) "
               "SELECT year, max(last_value) FROM case_number_counter GROUP BY year")
    op.drop_table("case_number_counter")
    op.rename_table("case_number_counter_old", "case_number_counter")
    with op.batch_alter_table("case_file") as batch:
        batch.drop_constraint("uq_case_file_case_number", type_="unique")
        batch.drop_index("ix_case_file_case_number")
        batch.create_index("ix_case_file_case_number", ["case_number"], unique=True)
    for table in reversed(OWNED + OPTIONAL):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_municipality_id")
            batch.drop_constraint(f"fk_{table}_municipality_id", type_="foreignkey")
            batch.drop_column("municipality_id")
    op.drop_table("municipality")
