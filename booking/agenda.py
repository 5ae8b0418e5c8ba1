"""The clerk's agenda: the appointments of one day at some offices, for the clerk API
(``GET /api/v1/clerk/appointments``) and the ``/staff`` page alike.

It lives in ``booking`` because it reads booking's own rows (appointments with their office and
service) and takes the office ids it may show. Which offices a clerk may see is staff's rule
(``staff.service.visible_office_ids``), applied by the caller: ``staff`` and ``calls`` import
``booking``, never the other way round, and the agenda page need not reach into the call's
package for a plain read.

A day is the office's wall-clock day: from local midnight to the next local midnight, converted
to UTC in the office's own zone, so a day has 23 or 25 hours on the DST changeover days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.availability import office_today, zone
from booking.models import Appointment, AppointmentStatus, Office, Service
from booking.party_models import AppointmentPerson, AppointmentService


@dataclass(frozen=True)
class AgendaItem:
    appointment: Appointment
    office: Office
    service: Service
    # Several services of one appointment, in order (the first is ``service``); () for one.
    services: tuple[Service, ...] = ()
    persons: int = 1  # the one who booked and the further people

    @property
    def citizen_name(self) -> str:
        return f"{self.appointment.given_name} {self.appointment.family_name}"

    @property
    def all_services(self) -> tuple[Service, ...]:
        return self.services or (self.service,)


def day_bounds(office: Office, day: date) -> tuple[datetime, datetime]:
    """The office's local ``day`` as a half-open UTC range [start, end)."""
    tz = zone(office.timezone)
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    return start, end


async def day_agenda(
    session: AsyncSession, office_ids: Sequence[int], day: date | None, now: datetime
) -> list[AgendaItem]:
    """Appointments of ``day`` (default: today in each office's zone) at the offices
    ``office_ids``, by start time (then office name and reference).

    Lapsed holds (``expired``) never became appointments and are left out.
    """
    if not office_ids:
        return []
    offices = (
        await session.execute(select(Office).where(col(Office.id).in_(list(office_ids))))
    ).scalars().all()
    if not offices:
        return []
    in_day = []
    for office in offices:
        start, end = day_bounds(office, day or office_today(office, now))
        in_day.append(and_(
            col(Appointment.office_id) == office.id,
            col(Appointment.start_at) >= start,
            col(Appointment.start_at) < end,
        ))
    query = (
        select(Appointment, Service)
        .join(Service, col(Service.id) == col(Appointment.service_id))
        .where(or_(*in_day), col(Appointment.status) != AppointmentStatus.expired.value)
    )
    by_id = {office.id: office for office in offices}
    items = await with_parties(session, [
        AgendaItem(appointment, by_id[appointment.office_id], service)
        for appointment, service in (await session.execute(query)).all()
    ])
    items.sort(key=lambda i: (i.appointment.start_at, i.office.name, i.office.id or 0,
                              i.appointment.reference))
    return items


async def with_parties(session: AsyncSession, items: Sequence[AgendaItem]) -> list[AgendaItem]:
    """The items with their several services and further people: two reads for all of them."""
    ids = [i.appointment.id for i in items if i.appointment.id is not None]
    if not ids:
        return list(items)
    services: dict[int, list[Service]] = {}
    rows = await session.execute(
        select(col(AppointmentService.appointment_id), Service)
        .join(Service, col(Service.id) == col(AppointmentService.service_id))
        .where(col(AppointmentService.appointment_id).in_(ids))
        .order_by(col(AppointmentService.appointment_id), col(AppointmentService.position)))
    for appointment_id, service in rows.all():
        services.setdefault(appointment_id, []).append(service)
    counted = await session.execute(
        select(col(AppointmentPerson.appointment_id), func.count())
        .where(col(AppointmentPerson.appointment_id).in_(ids))
        .group_by(col(AppointmentPerson.appointment_id)))
    further = {appointment_id: int(n) for appointment_id, n in counted.all()}
    return [
        replace(i, services=tuple(services.get(i.appointment.id or 0, ())),
                persons=1 + further.get(i.appointment.id or 0, 0))
        for i in items
    ]
