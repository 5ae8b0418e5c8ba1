"""An appointment by its reference (``BB-XXXX-XXXX``), for every caller: the citizen pages, the
clerk API and pages, the call's event record and the audit filter.

``find_appointment`` is the plain lookup (``None`` when unknown); ``appointment_in_offices``
adds the office scope a caller already knows (a clerk's offices: see
``staff.service.appointment_for_staff``) and answers with the errors every clerk endpoint gives:
404 for an unknown reference, 403 for one of another office.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment
from core.errors import Forbidden, NotFound

# The column's width: a longer text cannot be a reference (and is not sent to the database).
REFERENCE_CHARS = 20


async def find_appointment(session: AsyncSession, reference: str) -> Appointment | None:
    query = select(Appointment).where(
        col(Appointment.reference) == reference[:REFERENCE_CHARS]
    )
    return (await session.execute(query)).scalar_one_or_none()


async def appointment_in_offices(
    session: AsyncSession, reference: str, office_ids: Collection[int]
) -> Appointment:
    """The appointment ``reference``: ``NotFound`` when unknown, ``Forbidden`` when it belongs
    to none of ``office_ids``."""
    appointment = await find_appointment(session, reference)
    if appointment is None:
        raise NotFound()
    if appointment.office_id not in office_ids:
        raise Forbidden()
    return appointment
