"""The scope every ORM statement of a request carries (``tenants.scope``): which tables it covers,
and that each municipality's statements find exactly that municipality's rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import SQLModel, col
from starlette.applications import Starlette

from booking.models import Appointment, Office, SlotSeat
from booking.party_models import AppointmentPerson
from cases.models import Case, CaseNumberCounter
from core.tenancy import acting_for
from tenants import scope
from tests.staff.helpers import context
from tests.tenants.world import build

# Tables with an owner's column that the scope leaves alone, and why.
UNSCOPED: dict[type, str] = {
    SlotSeat: "seats are claimed and counted by Core statements of the booking, on the "
              "office's and appointment's ids that the scoped statements found",
    CaseNumberCounter: "one row per municipality and year, read and written only by "
                       "cases.numbers with the municipality named",
}
OWNER_COLUMNS = ("municipality_id", "office_id", "case_id", "service_id", "appointment_id")


def _mapped_classes() -> list[Any]:
    return [mapper.class_ for mapper in SQLModel._sa_registry.mappers]


def test_every_table_with_an_owner_is_scoped_by_one_marker() -> None:
    unmarked = []
    for cls in _mapped_classes():
        columns = {c.name for c in cls.__table__.columns}
        markers = [(marker, name) for marker, name, _ in scope.MARKERS
                   if isinstance(cls, type) and issubclass(cls, marker)]
        assert len(markers) <= 1, f"{cls.__name__} names more than one owner marker"
        for _, name in markers:
            assert name in columns, f"{cls.__name__} is matched on {name}, which it lacks"
        if not markers and columns & set(OWNER_COLUMNS) and cls not in UNSCOPED:
            unmarked.append(cls.__name__)
    assert unmarked == []


def test_a_statement_carries_six_options_whatever_the_number_of_tables() -> None:
    assert len(scope.criteria(1)) == len(scope.MARKERS) == 6
    assert scope.criteria(1) is scope.criteria(1)  # made once per municipality
    assert scope.criteria(1) is not scope.criteria(2)


async def test_each_municipality_s_statements_find_its_own_rows(app: Starlette) -> None:
    """One statement, run for A, for B, for A again and for nobody: the same compiled statement
    (SQLAlchemy's cache) must bind each municipality's own id."""
    town_a, town_b = await build(app)
    db = context(app).db

    async def visible() -> tuple[set[int], set[int], int]:
        async with db.transaction() as session:
            offices = set((await session.execute(select(col(Office.id)))).scalars())
            appointments = set((await session.execute(
                select(col(Appointment.office_id)))).scalars())
            persons = (await session.execute(
                select(func.count()).select_from(AppointmentPerson))).scalar_one()
            return offices, appointments, int(persons)

    with acting_for(1):
        offices_a, appointments_a, _ = await visible()
    with acting_for(town_b.id):
        offices_b, appointments_b, _ = await visible()
    with acting_for(1):
        assert (await visible())[0] == offices_a
    everything, all_appointments, _ = await visible()

    assert town_a.office in offices_a and town_b.office not in offices_a
    assert offices_b == {town_b.office}
    assert appointments_b == {town_b.office}
    assert town_b.office not in appointments_a
    assert offices_a | offices_b == everything
    assert all_appointments == appointments_a | appointments_b

    async with db.transaction() as session:
        with acting_for(1):
            cases_a = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
        with acting_for(town_b.id):
            cases_b = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
        total = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
    assert cases_b >= 2 and cases_a + cases_b == total
