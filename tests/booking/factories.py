"""Test data written straight through the models (independent of the admin API)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db import Database
from booking.models import (
    Appointment,
    Closure,
    Office,
    Schedule,
    ScheduleService,
    Service,
    ServiceOffice,
    SlotSeat,
)

BERLIN = ZoneInfo("Europe/Berlin")
ALL_DAYS = "0,1,2,3,4,5,6"


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    """An aware datetime for a wall-clock time in ``tz``, converted to UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=tz).replace(fold=fold).astimezone(UTC)


async def add_office(db: Database, **values: Any) -> Office:
    fields: dict[str, Any] = {
        "name": "Bürgerbüro Test", "timezone": "Europe/Berlin",
        "min_notice_minutes": 0, "horizon_days": 365,
    }
    fields.update(values)
    async with db.transaction(write=True) as session:
        office = Office(**fields)
        session.add(office)
        await session.flush()
    return office


async def add_service(db: Database, offices: Sequence[Office], **values: Any) -> Service:
    fields: dict[str, Any] = {"name": "Meldebescheinigung", "duration_minutes": 15,
                              "fee_cents": 500}
    fields.update(values)
    async with db.transaction(write=True) as session:
        service = Service(**fields)
        session.add(service)
        await session.flush()
        assert service.id is not None
        for office in offices:
            assert office.id is not None
            session.add(ServiceOffice(service_id=service.id, office_id=office.id))
    return service


async def add_schedule(
    db: Database,
    office: Office,
    services: Sequence[Service],
    *,
    weekdays: str = ALL_DAYS,
    start: time = time(9),
    end: time = time(12),
    slot_minutes: int = 15,
    capacity: int = 1,
    valid_from: date = date(2020, 1, 1),
    valid_until: date | None = None,
) -> Schedule:
    assert office.id is not None
    async with db.transaction(write=True) as session:
        schedule = Schedule(
            office_id=office.id, weekdays=weekdays, start_time=start, end_time=end,
            slot_minutes=slot_minutes, capacity=capacity,
            valid_from=valid_from, valid_until=valid_until,
        )
        session.add(schedule)
        await session.flush()
        assert schedule.id is not None
        for service in services:
            assert service.id is not None
            session.add(ScheduleService(schedule_id=schedule.id, service_id=service.id))
    return schedule


async def add_closure(db: Database, office: Office | None, day: date, reason: str = "") -> Closure:
    async with db.transaction(write=True) as session:
        closure = Closure(office_id=office.id if office else None, date=day, reason=reason)
        session.add(closure)
    return closure


@dataclass
class World:
    office: Office
    service: Service
    schedule: Schedule

    @property
    def office_id(self) -> int:
        assert self.office.id is not None
        return self.office.id

    @property
    def service_id(self) -> int:
        assert self.service.id is not None
        return self.service.id


async def world(
    db: Database,
    *,
    office: dict[str, Any] | None = None,
    service: dict[str, Any] | None = None,
    **schedule: Any,
) -> World:
    """One office, one service, one schedule (every day 09:00–12:00, 15-minute grid)."""
    o = await add_office(db, **(office or {}))
    s = await add_service(db, [o], **(service or {}))
    sch = await add_schedule(db, o, [s], **schedule)
    return World(o, s, sch)


async def appointments(db: Database) -> list[Appointment]:
    async with db.transaction() as session:
        result = await session.execute(select(Appointment).order_by(Appointment.id))  # type: ignore[arg-type]
        rows = list(result.scalars().all())
        session.expunge_all()  # keep them loaded after the read-only transaction rolls back
        return rows


async def seats(db: Database) -> list[SlotSeat]:
    async with db.transaction() as session:
        result = await session.execute(select(SlotSeat).order_by(SlotSeat.id))  # type: ignore[arg-type]
        rows = list(result.scalars().all())
        session.expunge_all()
        return rows
