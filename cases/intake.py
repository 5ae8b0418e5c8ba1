"""How a request comes in: a booked video appointment opens one.

The request is written in the booking's transaction, right after the appointment (booking knows
nothing of requests; it only carries the key ``appointment.case_id``). A video request takes its
appointment's reference, so the reference the citizen got by e-mail names both. An appointment
written without a request (a bulk import, an older installation's data before its migration)
gets one the first time the desk needs it (``request_of``).

Services here take a session, raise domain errors and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.composition import Composition
from booking.links import LinkKeys
from booking.models import Appointment
from booking.service import Booked, BookingPolicy, CitizenInput
from booking.service import book as book_slot
from cases.models import Case, CaseState, Channel
from core.types import utcnow


def request_for_appointment(appointment: Appointment) -> Case:
    """A new open video request with the appointment's reference and the citizen's data."""
    return Case(
        reference=appointment.reference, channel=Channel.video.value,
        office_id=appointment.office_id, service_id=appointment.service_id,
        given_name=appointment.given_name, family_name=appointment.family_name,
        email=appointment.email, phone=appointment.phone,
        date_of_birth=appointment.date_of_birth, locale=appointment.locale,
        state=CaseState.open.value, created_at=appointment.created_at,
        updated_at=appointment.created_at,
    )


async def open_request(session: AsyncSession, appointment: Appointment) -> Case:
    """Open the request of ``appointment`` and make the appointment a channel of it."""
    case = request_for_appointment(appointment)
    session.add(case)
    await session.flush()
    appointment.case_id = case.id
    await session.flush()
    return case


async def request_of(session: AsyncSession, appointment: Appointment) -> Case:
    """The request ``appointment`` belongs to (opened now if it has none yet)."""
    if appointment.case_id is not None:
        case = await session.get(Case, appointment.case_id)
        if case is not None:
            return case
    return await open_request(session, appointment)


async def book(
    session: AsyncSession, links: LinkKeys, policy: BookingPolicy, *, service_id: int,
    office_id: int, start: datetime, citizen: CitizenInput, locale: str,
    now: datetime | None = None, composition: Composition | None = None,
    announce: bool = True, channel: str | None = None,
) -> Booked:
    """Book an appointment (``booking.service.book``; by video, on site or by phone) and open
    its request."""
    booked = await book_slot(session, links, policy, service_id=service_id, office_id=office_id,
                             start=start, citizen=citizen, locale=locale, now=now or utcnow(),
                             composition=composition, announce=announce, channel=channel)
    await open_request(session, booked.appointment)
    return booked


async def book_for_request(
    session: AsyncSession, links: LinkKeys, policy: BookingPolicy, case: Case, *,
    service_id: int, start: datetime, now: datetime | None = None,
) -> Booked:
    """Book a video appointment for an existing request (the identity check of a request sent
    online): the request's citizen and office, and the appointment a channel of the request."""
    citizen = CitizenInput(given_name=case.given_name, family_name=case.family_name,
                           email=case.email, phone=case.phone, date_of_birth=case.date_of_birth)
    booked = await book_slot(session, links, policy, service_id=service_id,
                             office_id=case.office_id, start=start, citizen=citizen,
                             locale=case.locale, now=now or utcnow())
    booked.appointment.case_id = case.id
    await session.flush()
    return booked


async def appointments_of(session: AsyncSession, case_id: int) -> list[Appointment]:
    """The appointments of a request, oldest first."""
    query = (select(Appointment).where(col(Appointment.case_id) == case_id)
             .order_by(col(Appointment.start_at), col(Appointment.id)))
    return list((await session.execute(query)).scalars())
