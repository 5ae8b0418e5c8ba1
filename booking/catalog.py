"""The catalogue: the offices and the services the public may see and book, for the public API
(``GET /api/v1/offices``, ``GET /api/v1/services``) and the booking pages alike.

What can be booked is decided here and nowhere else: ``BOOKABLE`` (an active service offered by
video, on site or by phone, ``booking.channels``). The listings filter by it, and
availability and the booking service read a service through it (``load_service``,
``booking.slot_offer``), so a service the catalogue does not list has no free slots and
cannot be booked: the API answers 404 as for an unknown service, the pages show the choice of
services again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office, Service, ServiceOffice
from core.errors import NotFound
from core.i18n import uses_english_data
from core.link_tables import ids_per
from core.rows import get_or_raise

# The rule. A column expression, so the one-statement readers (``booking.slot_offer``) use it too.
BOOKABLE = and_(col(Service.active).is_(True), or_(
    col(Service.video).is_(True), col(Service.onsite).is_(True), col(Service.phone).is_(True)))


@dataclass(frozen=True)
class OfferedService:
    service: Service
    office_ids: list[int]


def service_name(service: Service, lang: str) -> str:
    return service.name_en if uses_english_data(lang) and service.name_en else service.name


def service_description(service: Service, lang: str) -> str:
    return service.description_en if uses_english_data(lang) and service.description_en else (
        service.description)


async def offices(session: AsyncSession) -> list[Office]:
    result = await session.execute(select(Office).order_by(col(Office.name), col(Office.id)))
    return list(result.scalars().all())


async def load_office(session: AsyncSession, office_id: int) -> Office:
    return await get_or_raise(session, Office, office_id, NotFound("This office does not exist."))


async def load_service(session: AsyncSession, service_id: int) -> Service:
    """A bookable service; ``NotFound`` for an unknown one and for one that is not bookable."""
    query = select(Service).where(col(Service.id) == service_id, BOOKABLE)
    service = (await session.execute(query)).scalar_one_or_none()
    if service is None:
        raise NotFound("This service does not exist.")
    return service


async def services(session: AsyncSession, *, office_id: int | None = None) -> list[OfferedService]:
    """Bookable services offered by at least one office, with those offices, in the admin's
    order; ``office_id`` narrows to one office (``NotFound`` when it does not exist)."""
    if office_id is not None:
        await load_office(session, office_id)
    result = await session.execute(
        select(Service)
        .where(BOOKABLE)
        .order_by(col(Service.sort_order), col(Service.name), col(Service.id))
    )
    bookable = list(result.scalars().all())
    by_service = await ids_per(
        session, col(ServiceOffice.service_id), col(ServiceOffice.office_id)
    )
    offered = [
        OfferedService(service, by_service[service.id])
        for service in bookable
        if service.id in by_service
    ]
    if office_id is not None:
        offered = [o for o in offered if office_id in o.office_ids]
    return offered


async def service_offices(session: AsyncSession, service_id: int) -> list[Office]:
    """The offices that offer ``service_id``, by name."""
    result = await session.execute(
        select(Office)
        .join(ServiceOffice, col(ServiceOffice.office_id) == col(Office.id))
        .where(col(ServiceOffice.service_id) == service_id)
        .order_by(col(Office.name), col(Office.id))
    )
    return list(result.scalars().all())
