"""What the public may see: offices and the active services they offer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.availability import load_office
from booking.models import Office, Service, ServiceOffice


@dataclass(frozen=True)
class OfferedService:
    service: Service
    office_ids: list[int]


async def offices(session: AsyncSession) -> list[Office]:
    result = await session.execute(select(Office).order_by(col(Office.name), col(Office.id)))
    return list(result.scalars().all())


async def services(session: AsyncSession, *, office_id: int | None = None) -> list[OfferedService]:
    """Active services with the offices offering them; ``office_id`` narrows to one office
    (``NotFound`` when it does not exist)."""
    if office_id is not None:
        await load_office(session, office_id)
    result = await session.execute(
        select(Service)
        .where(col(Service.active).is_(True))
        .order_by(col(Service.sort_order), col(Service.name), col(Service.id))
    )
    active = list(result.scalars().all())
    links = await session.execute(
        select(col(ServiceOffice.service_id), col(ServiceOffice.office_id)).order_by(
            col(ServiceOffice.office_id)
        )
    )
    by_service: dict[int, list[int]] = defaultdict(list)
    for service_id, oid in links.all():
        by_service[service_id].append(oid)
    offered = [
        OfferedService(service, by_service.get(service.id or 0, [])) for service in active
    ]
    if office_id is not None:
        offered = [o for o in offered if office_id in o.office_ids]
    return offered
