"""requests at the centre

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:12:04.118305

Why: at 0001 a case existed only once an appointment was completed (``case_file.appointment_id``)
and everything before that hung off the appointment. Now the citizen's request (``case_file``,
a "Vorgang") is the centre: it has its own reference, citizen data, service and state from the
start (``open``), and a video appointment is one channel of it (``appointment.case_id``); a
request may also come in online, without an appointment. Identity checks and the postal address
belong to the request; an identity check names the person it is of (1 = the applicant).

Upgrade, with the data:

* every 0001 case becomes the video request of its appointment: it keeps its id (so its items,
  documents, milestones, payments and dispatches stay attached), its case number and its
  decision, and takes reference, service, name, contact, date of birth and locale from the
  appointment;
* every other appointment gets a new open request (state ``open``, revision 0, no case number,
  decision fields empty, amount 0 EUR, created/updated when the appointment was);
* ``appointment.case_id``, ``identity_check.case_id`` (``person`` 1) and
  ``postal_address.case_id`` point to the request of their appointment;
* ``case_file.appointment_id``, ``postal_address.appointment_id`` and the unused
  ``staff_session.csrf_token`` go.

Order: new columns nullable, filled with set-based SQL (``INSERT ... SELECT``, ``UPDATE`` with
correlated subqueries, the same on SQLite and PostgreSQL), then NOT NULL and constraints, then
the old columns dropped. SQLite alters tables by copying them (batch mode, recreate), which needs
``PRAGMA foreign_keys`` off, as it is on the migration's own connection: with it on, dropping the
old copy of ``case_file`` would delete its items (ON DELETE CASCADE) or fail (RESTRICT). A
caller's connection with it on is switched off if it still can be (no transaction open yet),
else refused; ``PRAGMA foreign_key_check`` at the end checks the copied tables. The foreign keys
case_file.identity_check_id and identity_check.case_id form a cycle; only their columns change
here, so no table has to exist before the other.

Downgrade keeps every decided (completed or reopened) request that has an appointment, as the
case of its appointment (the one whose reference it carries, else its first); its identity
checks and postal address go back to that appointment. What 0001 cannot hold is DELETED:
requests that have no appointment (online requests, decided or not) with their items,
documents, milestones, dispatches, payments, identity checks and postal address; identity
checks of further persons (``person`` > 1), which at 0001 would pass for the applicant's; and
the open requests themselves (their appointments, identity checks and addresses stay).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from alembic.operations import BatchOperations

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The request's own copy of the citizen, taken from the appointment (same names there).
CITIZEN = ("given_name", "family_name", "email", "phone", "date_of_birth", "locale")

PAYMENT = "'invoice', 'online', 'none'"
PAYMENT_STATUS = "'not_required', 'open', 'paid', 'failed', 'refunded'"
DELIVERY = "'post', 'email', 'pickup', 'external'"
DISPATCH_STATUS = (
    "'not_required', 'queued', 'printed', 'posted', 'delivered', 'returned', 'cancelled', "
    "'forwarded'"
)
DECIDED = (
    "state = 'open' OR (case_number IS NOT NULL AND completed_at IS NOT NULL AND revision >= 1"
    " AND payment <> '' AND payment_status <> '' AND delivery <> '' AND dispatch_status <> '')"
)
# (name, 0001 condition, 0002 condition)
CASE_CHECKS = (
    ("ck_case_file_state", "state IN ('completed', 'reopened')",
     "state IN ('open', 'completed', 'reopened')"),
    ("ck_case_file_revision", "revision >= 1", "revision >= 0"),
    ("ck_case_file_payment", f"payment IN ({PAYMENT})", f"payment IN ('', {PAYMENT})"),
    ("ck_case_file_payment_status", f"payment_status IN ({PAYMENT_STATUS})",
     f"payment_status IN ('', {PAYMENT_STATUS})"),
    ("ck_case_file_delivery", f"delivery IN ({DELIVERY})", f"delivery IN ('', {DELIVERY})"),
    ("ck_case_file_dispatch_status", f"dispatch_status IN ({DISPATCH_STATUS})",
     f"dispatch_status IN ('', {DISPATCH_STATUS})"),
)
NEW_CASE_CHECKS = (
    ("ck_case_file_channel", "channel IN ('video', 'online')"),
    ("ck_case_file_decided", DECIDED),
)


INTEGERS = frozenset({
    "id", "appointment_id", "case_id", "office_id", "service_id", "identity_check_id",
    "revision", "amount_cents", "person",
})


def _type(column: str) -> sa.types.TypeEngine[Any]:
    if column in INTEGERS:
        return sa.Integer()
    if column == "date_of_birth":
        return sa.Date()
    if column.endswith("_at"):
        return sa.DateTime(timezone=True)
    return sa.String()


def _table(name: str, *columns: str) -> sa.TableClause:
    """The columns the data steps use, typed (so ``--sql`` can render the values)."""
    return sa.table(name, *(sa.column(column, _type(column)) for column in columns))


# The columns the data steps read and write (Core, so the SQL suits either database).
CASE = _table(
    "case_file", "id", "appointment_id", "reference", "channel", "office_id", "service_id",
    *CITIZEN, "state", "revision", "amount_cents", "currency", "payment", "payment_status",
    "delivery", "dispatch_status", "external_authority", "note", "completed_by_label",
    "created_at", "updated_at", "identity_check_id",
)
APPOINTMENT = _table(
    "appointment", "id", "case_id", "reference", "office_id", "service_id", *CITIZEN,
    "created_at", "updated_at",
)
IDENTITY_CHECK = _table("identity_check", "id", "case_id", "appointment_id", "person")
POSTAL_ADDRESS = _table("postal_address", "case_id", "appointment_id")
STAFF_SESSION = _table("staff_session", "csrf_token")
# A new open request: nothing decided yet.
OPEN = {
    "channel": "video", "state": "open", "revision": 0, "amount_cents": 0, "currency": "EUR",
    "payment": "", "payment_status": "", "delivery": "", "dispatch_status": "",
    "external_authority": "", "note": "", "completed_by_label": "",
}
# Tables whose rows belong to a case (besides identity checks and the postal address), in an
# order that deletes referring rows first.
CASE_DEPENDENTS = (
    "payment_refund", "payment_attempt", "dispatch", "case_document", "case_milestone",
    "case_item",
)
TOUCHED = (
    "case_file", "appointment", "identity_check", "postal_address", "staff_session",
    *CASE_DEPENDENTS,
)


def _request_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=True),
    ]


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _sqlite_online() -> bool:
    return _sqlite() and not context.is_offline_mode()


@contextmanager
def _batch(table: str) -> Iterator[BatchOperations]:
    """ALTERs on PostgreSQL; on SQLite a copy of the table with the changes (named constraints
    and indexes are reflected and carried over)."""
    with op.batch_alter_table(table, recreate="always" if _sqlite() else "auto") as batch:
        yield batch


def _foreign_keys_off() -> None:
    if not _sqlite_online():
        return
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
        if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError(
                "0002 copies tables on SQLite and needs PRAGMA foreign_keys=OFF "
                "(ON DELETE CASCADE would empty the tables that refer to them)"
            )


def _foreign_keys_hold() -> None:
    """SQLite did not check the foreign keys of the copied tables: check them now."""
    if not _sqlite_online():
        return
    for table in TOUCHED:
        broken = op.get_bind().exec_driver_sql(f"PRAGMA foreign_key_check({table})").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken in {table}: {broken[:10]}")


def _case_checks(batch: BatchOperations, *, to_0002: bool) -> None:
    """Replace the case checks of one revision by those of the other."""
    for name, at_0001, at_0002 in CASE_CHECKS:
        batch.drop_constraint(name, type_="check")
        batch.create_check_constraint(name, at_0002 if to_0002 else at_0001)
    for name, condition in NEW_CASE_CHECKS:
        if to_0002:
            batch.create_check_constraint(name, condition)
        else:
            batch.drop_constraint(name, type_="check")


def upgrade() -> None:
    _foreign_keys_off()
    # 1. The new columns, nullable until they are filled.
    for column in _request_columns():
        op.add_column("case_file", column)
    op.add_column("identity_check", sa.Column("case_id", sa.Integer(), nullable=True))
    op.add_column("identity_check", sa.Column("person", sa.Integer(), nullable=True))
    op.add_column("postal_address", sa.Column("case_id", sa.Integer(), nullable=True))
    with _batch("appointment") as batch:
        batch.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_appointment_case_id_case_file", "case_file", ["case_id"], ["id"],
            ondelete="RESTRICT",
        )
        batch.create_index(op.f("ix_appointment_case_id"), ["case_id"], unique=False)

    # 2. The cases of 0001 become the video requests of their appointments.
    a = APPOINTMENT.alias("a")
    c = CASE.alias("c")

    def of_appointment(name: str) -> Any:
        return sa.select(a.c[name]).where(a.c.id == CASE.c.appointment_id).scalar_subquery()

    op.execute(CASE.update().values(
        channel="video",
        **{name: of_appointment(name) for name in ("reference", "service_id", *CITIZEN)},
    ))

    # 3. Open requests allowed: no case number or completion yet, decision fields empty.
    with _batch("case_file") as batch:
        batch.alter_column("case_number", existing_type=sa.String(length=40), nullable=True)
        batch.alter_column(
            "completed_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )
        _case_checks(batch, to_0002=True)

    # 4. An open request for every appointment without a case (appointment_id links them
    # until step 6).
    taken = ("id", "reference", "office_id", "service_id", *CITIZEN, "created_at", "updated_at")
    without_case = (
        sa.select(*(a.c[name] for name in taken), *(sa.literal(value) for value in OPEN.values()))
        .where(~sa.select(c.c.id).where(c.c.appointment_id == a.c.id).exists())
        .order_by(a.c.id)
    )
    op.execute(CASE.insert().from_select(["appointment_id", *taken[1:], *OPEN], without_case))

    # 5. Appointments, identity checks and postal addresses point to the request.
    op.execute(APPOINTMENT.update().values(
        case_id=sa.select(c.c.id).where(c.c.appointment_id == APPOINTMENT.c.id)
        .scalar_subquery()
    ))
    for table, extra in ((IDENTITY_CHECK, {"person": 1}), (POSTAL_ADDRESS, {})):
        op.execute(table.update().values(
            case_id=sa.select(a.c.case_id).where(a.c.id == table.c.appointment_id)
            .scalar_subquery(),
            **extra,
        ))

    # 6. Tighten, then drop what the appointment used to carry.
    with _batch("case_file") as batch:
        for column in _request_columns():
            if column.name != "date_of_birth":
                batch.alter_column(column.name, existing_type=column.type, nullable=False)
        batch.create_foreign_key(
            "fk_case_file_service_id_service", "service", ["service_id"], ["id"],
            ondelete="RESTRICT",
        )
        batch.create_index(op.f("ix_case_file_reference"), ["reference"], unique=True)
        batch.create_index(op.f("ix_case_file_state"), ["state"], unique=False)
        # Its unique constraint goes with the column.
        batch.drop_constraint("fk_case_file_appointment_id_appointment", type_="foreignkey")
        batch.drop_column("appointment_id")

    with _batch("identity_check") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("person", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_identity_check_case_id_case_file", "case_file", ["case_id"], ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_identity_check_case_id"), ["case_id"], unique=False)
        batch.create_check_constraint("ck_identity_check_person", "person >= 1 AND person <= 20")
        batch.drop_constraint("fk_identity_check_appointment_id_appointment", type_="foreignkey")
        batch.alter_column("appointment_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            "fk_identity_check_appointment_id_appointment", "appointment", ["appointment_id"],
            ["id"], ondelete="SET NULL",
        )

    with _batch("postal_address") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_postal_address_case_id_case_file", "case_file", ["case_id"], ["id"],
            ondelete="CASCADE",
        )
        # PostgreSQL's own name for the models' unnamed unique constraint.
        batch.create_unique_constraint("postal_address_case_id_key", ["case_id"])
        batch.drop_constraint("fk_postal_address_appointment_id_appointment", type_="foreignkey")
        batch.drop_column("appointment_id")

    with _batch("staff_session") as batch:
        batch.drop_column("csrf_token")
    _foreign_keys_hold()


def downgrade() -> None:
    _foreign_keys_off()
    # 1. The 0001 columns back, nullable until they are filled.
    op.add_column("case_file", sa.Column("appointment_id", sa.Integer(), nullable=True))
    op.add_column("postal_address", sa.Column("appointment_id", sa.Integer(), nullable=True))
    op.add_column("staff_session", sa.Column("csrf_token", sa.String(length=64), nullable=True))

    # 2. A request's appointment: the one with its reference, else its first.
    a = APPOINTMENT.alias("a")
    c = CASE.alias("c")
    first = sa.select(sa.func.min(a.c.id)).where(a.c.case_id == CASE.c.id)
    op.execute(CASE.update().values(appointment_id=sa.func.coalesce(
        first.where(a.c.reference == CASE.c.reference).scalar_subquery(),
        first.scalar_subquery(),
    )))
    op.execute(IDENTITY_CHECK.delete().where(IDENTITY_CHECK.c.person != 1))
    for table in (IDENTITY_CHECK, POSTAL_ADDRESS):
        op.execute(
            table.update().where(table.c.appointment_id.is_(None)).values(
                appointment_id=sa.select(c.c.appointment_id).where(c.c.id == table.c.case_id)
                .scalar_subquery()
            )
        )
    op.execute(STAFF_SESSION.update().values(csrf_token=""))

    # 3. Delete what 0001 cannot hold (see the docstring), dependents first.
    for table in (IDENTITY_CHECK, POSTAL_ADDRESS):
        op.execute(table.delete().where(table.c.appointment_id.is_(None)))
    doomed = sa.or_(CASE.c.state == "open", CASE.c.appointment_id.is_(None))
    for name in CASE_DEPENDENTS:
        dependent = _table(name, "case_id")
        op.execute(dependent.delete().where(
            dependent.c.case_id.in_(sa.select(CASE.c.id).where(doomed))
        ))
    op.execute(
        CASE.update()
        .where(CASE.c.identity_check_id.not_in(sa.select(IDENTITY_CHECK.c.id)))
        .values(identity_check_id=None)
    )

    # 4. Nothing points to a request any more (PostgreSQL would cascade or refuse) ...
    with _batch("identity_check") as batch:
        batch.drop_constraint("ck_identity_check_person", type_="check")
        batch.drop_index(op.f("ix_identity_check_case_id"))
        batch.drop_column("case_id")  # with its foreign key
        batch.drop_column("person")
        batch.drop_constraint("fk_identity_check_appointment_id_appointment", type_="foreignkey")
        batch.alter_column("appointment_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_identity_check_appointment_id_appointment", "appointment", ["appointment_id"],
            ["id"], ondelete="CASCADE",
        )

    with _batch("postal_address") as batch:
        batch.drop_column("case_id")  # with its foreign key and unique constraint
        batch.alter_column("appointment_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_postal_address_appointment_id_appointment", "appointment", ["appointment_id"],
            ["id"], ondelete="CASCADE",
        )
        batch.create_unique_constraint("postal_address_appointment_id_key", ["appointment_id"])

    with _batch("appointment") as batch:
        batch.drop_index(op.f("ix_appointment_case_id"))
        batch.drop_column("case_id")  # with its foreign key

    # 5. ... so the requests 0001 cannot hold can go, and the cases take their 0001 shape.
    op.execute(CASE.delete().where(doomed))
    with _batch("case_file") as batch:
        batch.drop_index(op.f("ix_case_file_state"))
        batch.drop_index(op.f("ix_case_file_reference"))
        _case_checks(batch, to_0002=False)
        for column in _request_columns():
            batch.drop_column(column.name)  # service_id with its foreign key
        batch.alter_column("case_number", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column(
            "completed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch.alter_column("appointment_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_case_file_appointment_id_appointment", "appointment", ["appointment_id"],
            ["id"], ondelete="RESTRICT",
        )
        batch.create_unique_constraint("case_file_appointment_id_key", ["appointment_id"])

    with _batch("staff_session") as batch:
        batch.alter_column("csrf_token", existing_type=sa.String(length=64), nullable=False)
    _foreign_keys_hold()
