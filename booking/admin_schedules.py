"""Configuration of weekly schedules and closures, with validation and audit.

A schedule may change while appointments are booked on it only as long as every upcoming
appointment still fits (same office and service, weekday, hours, slot grid, validity, enough
places). Otherwise the change is refused (409): bookings are never dropped silently.
A closure may be added on a day with appointments; the caller learns how many are affected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.admin import (
    active_upcoming,
    apply,
    apply_audited,
    changed_fields,
    check_offices_exist,
    get_office,
    refuse_if_booked,
    taken,
)
from booking.admin_validation import (
    Duplicate,
    FieldError,
    FieldErrors,
    InUse,
    clean,
    day,
    hhmm,
    id_list,
    integer,
    optional_choice,
    optional_day,
    optional_id,
    required_id,
    text,
    weekdays,
)
from booking.availability import office_today
from booking.channels import CHANNELS, opening_serves
from booking.models import (
    ACTIVE_STATUSES,
    Appointment,
    Closure,
    Office,
    Schedule,
    ScheduleService,
    Service,
    ServiceOffice,
    SlotSeat,
)
from booking.release import RELEASE_FIELDS, release_errors
from core.audit import Actor, record
from core.errors import NotFound
from core.link_tables import ids_per, set_ids
from core.rows import get_or_raise
from core.types import utcnow

SCHEDULE_FIELDS = {
    "office_id": required_id,
    "service_ids": id_list,
    "weekdays": weekdays,
    "start_time": hhmm,
    "end_time": hhmm,
    "slot_minutes": integer(5, 480),
    "capacity": integer(1, 100),
    "valid_from": day,
    "valid_until": optional_day,
    **RELEASE_FIELDS,
    "channel": optional_choice(CHANNELS),
}

CLOSURE_FIELDS = {
    "office_id": optional_id,
    "date": day,
    "reason": text(300),
}


# --- schedules ---------------------------------------------------------------------------------


async def list_schedules(session: AsyncSession, office_id: int | None = None) -> list[Schedule]:
    query = select(Schedule).order_by(
        col(Schedule.office_id), col(Schedule.valid_from), col(Schedule.start_time),
        col(Schedule.id),
    )
    if office_id is not None:
        query = query.where(col(Schedule.office_id) == office_id)
    return list((await session.execute(query)).scalars())


async def get_schedule(session: AsyncSession, schedule_id: int) -> Schedule:
    return await get_or_raise(
        session, Schedule, schedule_id, NotFound("This schedule does not exist.")
    )


async def schedule_service_ids(
    session: AsyncSession, schedule_ids: Sequence[int] | None = None
) -> dict[int, list[int]]:
    return await ids_per(
        session, col(ScheduleService.schedule_id), col(ScheduleService.service_id), schedule_ids
    )


async def _check_services(session: AsyncSession, office_id: int, ids: list[int]) -> None:
    if not ids:
        raise FieldErrors.one("service_ids", "Please choose at least one service.")
    found = {
        int(i) for i in (
            await session.execute(select(col(Service.id)).where(col(Service.id).in_(ids)))
        ).scalars() if i is not None
    }
    missing = sorted(set(ids) - found)
    if missing:
        raise FieldErrors.one(
            "service_ids", "Unknown service: %(ids)s.", ids=", ".join(str(i) for i in missing)
        )
    offered = {
        int(i) for i in (
            await session.execute(
                select(col(ServiceOffice.service_id)).where(
                    col(ServiceOffice.office_id) == office_id,
                    col(ServiceOffice.service_id).in_(ids),
                )
            )
        ).scalars()
    }
    not_offered = sorted(set(ids) - offered)
    if not_offered:
        # Named, not numbered: the admin reads the services as the form shows them.
        names = (await session.execute(
            select(col(Service.name)).where(col(Service.id).in_(not_offered))
            .order_by(col(Service.name))
        )).scalars()
        raise FieldErrors.one(
            "service_ids",
            "These services are not offered at this office: %(names)s. "
            "Add the office to the service first.",
            names=", ".join(names),
        )


def _check_shape(data: Mapping[str, Any]) -> None:
    """Rules between fields, checked on the schedule as it would be after the change."""
    errors: list[FieldError] = []
    start: dt.time = data["start_time"]
    end: dt.time = data["end_time"]
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if minutes <= 0:
        errors.append(FieldError("end_time", "The end time must be after the start time."))
    elif data["slot_minutes"] > minutes:
        errors.append(
            FieldError("slot_minutes", "A slot must fit between the start and end time.")
        )
    until: dt.date | None = data["valid_until"]
    if until is not None and until < data["valid_from"]:
        errors.append(
            FieldError("valid_until", "The end of validity must not be before its start.")
        )
    errors.extend(release_errors(data))
    if errors:
        raise FieldErrors(errors)


def _fits(appointment: Appointment, data: Mapping[str, Any], service_ids: list[int],
          zone: ZoneInfo) -> bool:
    """Would this appointment still be a slot of the schedule described by ``data``?"""
    if appointment.office_id != data["office_id"] or appointment.service_id not in service_ids:
        return False
    if not opening_serves(data["channel"], appointment.channel):
        return False
    start = appointment.start_at.astimezone(zone)
    end = appointment.end_at.astimezone(zone)
    if str(start.weekday()) not in data["weekdays"].split(","):
        return False
    until: dt.date | None = data["valid_until"]
    if start.date() < data["valid_from"] or (until is not None and start.date() > until):
        return False
    open_at = dt.datetime.combine(start.date(), data["start_time"], zone)
    close_at = dt.datetime.combine(start.date(), data["end_time"], zone)
    if start < open_at or end > close_at:
        return False
    offset = int((start - open_at).total_seconds() // 60)
    return offset % int(data["slot_minutes"]) == 0


async def _check_keeps_bookings(
    session: AsyncSession, schedule: Schedule, data: Mapping[str, Any], service_ids: list[int],
    now: dt.datetime,
) -> None:
    rows = await session.execute(
        select(Appointment).where(
            col(Appointment.schedule_id) == schedule.id, *active_upcoming(now)
        )
    )
    appointments = list(rows.scalars())
    if not appointments:
        return
    office = await get_office(session, data["office_id"])
    zone = ZoneInfo(office.timezone)
    outside = sum(1 for a in appointments if not _fits(a, data, service_ids, zone))
    if outside:
        raise InUse(
            "%(count)s upcoming appointments would no longer fit this schedule. "
            "Cancel or move them first.",
            count=outside,
        )
    seats = await session.execute(
        select(func.max(SlotSeat.seat)).where(
            col(SlotSeat.schedule_id) == schedule.id, col(SlotSeat.unit_start) >= now
        )
    )
    highest = seats.scalar_one_or_none()
    if highest is not None and int(highest) >= data["capacity"]:
        raise InUse(
            "Upcoming appointments already use more places than this capacity.",
            field="capacity",
        )


async def create_schedule(
    session: AsyncSession, actor: Actor, values: Mapping[str, Any], now: dt.datetime | None = None
) -> Schedule:
    data = clean(values, SCHEDULE_FIELDS, required=["office_id", "start_time", "end_time"])
    await check_offices_exist(session, "office_id", [data["office_id"]])
    office = await get_office(session, data["office_id"])
    service_ids: list[int] = data.pop("service_ids", [])
    full = {
        "weekdays": "0,1,2,3,4", "slot_minutes": 15, "capacity": 1, "valid_until": None,
        "release_time": None, "release_days_ahead": None,
        "channel": None,
        "valid_from": office_today(office, now), **data,
    }
    _check_shape(full)
    await _check_services(session, office.id or 0, service_ids)
    schedule = Schedule(**full)
    session.add(schedule)
    await session.flush()
    assert schedule.id is not None
    await set_ids(
        session, ScheduleService, "schedule_id", schedule.id, "service_id", service_ids
    )
    record(session, actor, "schedule.create", "schedule", schedule.id,
           {"fields": sorted([*data, "service_ids"])})
    return schedule


async def update_schedule(
    session: AsyncSession, actor: Actor, schedule_id: int, changes: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> Schedule:
    schedule = await get_schedule(session, schedule_id)
    data = clean(changes, SCHEDULE_FIELDS)
    if "office_id" in data:
        await check_offices_exist(session, "office_id", [data["office_id"]])
    old_services = (await schedule_service_ids(session, [schedule_id])).get(schedule_id, [])
    new_services: list[int] = data.pop("service_ids", old_services)
    full = {name: data.get(name, getattr(schedule, name)) for name in SCHEDULE_FIELDS
            if name != "service_ids"}
    _check_shape(full)
    if "office_id" in data or set(new_services) != set(old_services):
        await _check_services(session, full["office_id"], new_services)
    await _check_keeps_bookings(session, schedule, full, new_services, now or utcnow())
    fields = changed_fields(schedule, data)
    if set(new_services) != set(old_services):
        await set_ids(
            session, ScheduleService, "schedule_id", schedule_id, "service_id", new_services
        )
        fields = sorted([*fields, "service_ids"])
    await apply_audited(session, actor, schedule, data, fields, "schedule.update")
    return schedule


async def delete_schedule(
    session: AsyncSession, actor: Actor, schedule_id: int, now: dt.datetime | None = None
) -> None:
    schedule = await get_schedule(session, schedule_id)
    booked = col(Appointment.schedule_id) == schedule_id
    await refuse_if_booked(session, booked, now, lambda n: InUse(
        "This schedule still has %(count)s upcoming appointments. "
        "Cancel or move them before deleting it.", count=n,
    ))
    record(session, actor, "schedule.delete", "schedule", schedule_id,
           {"office_id": schedule.office_id})
    await session.delete(schedule)
    await session.flush()


# --- closures ----------------------------------------------------------------------------------


async def list_closures(
    session: AsyncSession, *, office_id: int | None = None, since: dt.date | None = None
) -> list[Closure]:
    query = select(Closure).order_by(col(Closure.date), col(Closure.id))
    if office_id is not None:
        query = query.where(
            (col(Closure.office_id) == office_id) | col(Closure.office_id).is_(None)
        )
    if since is not None:
        query = query.where(col(Closure.date) >= since)
    return list((await session.execute(query)).scalars())


async def get_closure(session: AsyncSession, closure_id: int) -> Closure:
    return await get_or_raise(
        session, Closure, closure_id, NotFound("This closure does not exist.")
    )


async def affected_appointments(
    session: AsyncSession, office_id: int | None, date: dt.date
) -> int:
    """Active appointments on ``date`` (office-local) at the office, or at any office."""
    # The local day lies within one UTC day either side; the exact test is per office zone.
    low = dt.datetime.combine(date - dt.timedelta(days=1), dt.time(), dt.UTC)
    high = dt.datetime.combine(date + dt.timedelta(days=2), dt.time(), dt.UTC)
    query = (
        select(col(Appointment.start_at), col(Office.timezone))
        .join(Office, col(Office.id) == col(Appointment.office_id))
        .where(
            col(Appointment.status).in_([s.value for s in ACTIVE_STATUSES]),
            col(Appointment.start_at) >= low,
            col(Appointment.start_at) < high,
        )
    )
    if office_id is not None:
        query = query.where(col(Appointment.office_id) == office_id)
    rows = (await session.execute(query)).all()
    return sum(1 for start, zone in rows if start.astimezone(ZoneInfo(zone)).date() == date)


async def _check_closure_unique(
    session: AsyncSession, office_id: int | None, date: dt.date, own_id: int | None
) -> None:
    office = (col(Closure.office_id).is_(None) if office_id is None
              else col(Closure.office_id) == office_id)
    if await taken(session, col(Closure.id), own_id, col(Closure.date) == date, office):
        raise Duplicate("There is already a closure on this day.", field="date")


async def create_closure(
    session: AsyncSession, actor: Actor, values: Mapping[str, Any]
) -> tuple[Closure, int]:
    """The new closure and how many active appointments fall on that day."""
    data = clean(values, CLOSURE_FIELDS, required=["date"])
    if data.get("office_id") is not None:
        await check_offices_exist(session, "office_id", [data["office_id"]])
    await _check_closure_unique(session, data.get("office_id"), data["date"], None)
    closure = Closure(**data)
    session.add(closure)
    await session.flush()
    affected = await affected_appointments(session, closure.office_id, closure.date)
    record(session, actor, "closure.create", "closure", closure.id,
           {"fields": sorted(data), "affected_appointments": affected})
    return closure, affected


async def update_closure(
    session: AsyncSession, actor: Actor, closure_id: int, changes: Mapping[str, Any]
) -> tuple[Closure, int]:
    closure = await get_closure(session, closure_id)
    data = clean(changes, CLOSURE_FIELDS)
    if data.get("office_id") is not None:
        await check_offices_exist(session, "office_id", [data["office_id"]])
    office_id = data.get("office_id", closure.office_id)
    date = data.get("date", closure.date)
    await _check_closure_unique(session, office_id, date, closure_id)
    fields = changed_fields(closure, data)
    apply(closure, data)
    await session.flush()
    affected = await affected_appointments(session, closure.office_id, closure.date)
    if fields:
        record(session, actor, "closure.update", "closure", closure_id,
               {"fields": fields, "affected_appointments": affected})
    return closure, affected


async def delete_closure(session: AsyncSession, actor: Actor, closure_id: int) -> None:
    closure = await get_closure(session, closure_id)
    record(session, actor, "closure.delete", "closure", closure_id, {"date": closure.date})
    await session.delete(closure)
    await session.flush()
