"""Seed data for the citizen page tests: one or two offices, services and all-week schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from starlette.applications import Starlette

from app.context import AppContext
from booking.models import Office, Schedule, ScheduleService, Service, ServiceOffice


@dataclass
class Seed:
    office_id: int
    service_id: int
    free_service_id: int
    second_office_id: int | None = None


def app_ctx(app: Starlette) -> AppContext:
    value = app.state.ctx
    assert isinstance(value, AppContext)
    return value


async def seed(app: Starlette, *, two_offices: bool = False, capacity: int = 1) -> Seed:
    """Offices open every day 08:00–18:00 (Europe/Berlin) so that tests find free slots on
    any day they run, whatever the time."""
    async with app_ctx(app).db.transaction(write=True) as session:
        office = Office(name="Bürgerbüro Musterstadt", timezone="Europe/Berlin",
                        min_notice_minutes=60, horizon_days=30,
                        authority="Stadt Musterstadt", address="Rathausplatz 1\n12345 Musterstadt",
                        email="buergerbuero@musterstadt.example")
        cert = Service(name="Meldebescheinigung", name_en="Registration certificate",
                       description="Bitte halten Sie Ihre Steuer-ID bereit.",
                       description_en="Please have your tax ID ready.",
                       duration_minutes=15, fee_cents=1000, sort_order=1)
        life = Service(name="Lebensbescheinigung", name_en="Life certificate",
                       duration_minutes=30, fee_cents=0, sort_order=2)
        session.add_all([office, cert, life])
        await session.flush()
        offices = [office]
        second: Office | None = None
        if two_offices:
            second = Office(name="Bürgerbüro Nordstadt", timezone="Europe/Berlin",
                            min_notice_minutes=60, horizon_days=30)
            session.add(second)
            await session.flush()
            offices.append(second)
        cert_id, life_id = cert.id, life.id
        assert cert_id is not None and life_id is not None
        for o in offices:
            assert o.id is not None
            schedule = Schedule(office_id=o.id, weekdays="0,1,2,3,4,5,6", start_time=time(8),
                                end_time=time(18), slot_minutes=15, capacity=capacity,
                                valid_from=date.today() - timedelta(days=2))
            session.add(schedule)
            await session.flush()
            assert schedule.id is not None
            for service_id in (cert_id, life_id):
                session.add(ServiceOffice(service_id=service_id, office_id=o.id))
                session.add(ScheduleService(schedule_id=schedule.id, service_id=service_id))
        assert office.id is not None and cert.id is not None and life.id is not None
        return Seed(office.id, cert.id, life.id, second.id if second else None)
