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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.availability import office_today, zone
from booking.models import Appointment, AppointmentStatus, Office, Service


@dataclass(frozen=True)
class AgendaItem:
    appointment: Appointment
    office: Office
    service: Service

    @property
    def citizen_name(self) -> str:
        return f"{self.appointment.given_name} {self.appointment.family_name}"


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
    items = [
        AgendaItem(appointment, by_id[appointment.office_id], service)
        for appointment, service in (await session.execute(query)).all()
    ]
    items.sort(key=lambda i: (i.appointment.start_at, i.office.name, i.office.id or 0,
                              i.appointment.reference))
    return items
