"""Configuration of offices and services: create, change, delete, with validation and audit.

Services receive typed values (from the API's models or a form), validate the meaning here and
write one audit event per change naming the changed fields (never their values: an address or
a bank account is not for the audit trail). They never commit.

Bookings are never dropped silently: an office or service that still has upcoming appointments
cannot be deleted (409), and one with past appointments is kept as the record of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from booking.admin_validation import (
    Duplicate,
    FieldErrors,
    InUse,
    bic,
    boolean,
    choice,
    clean,
    email,
    iban,
    id_list,
    integer,
    optional_integer,
    text,
    timezone,
)
from booking.models import (
    ACTIVE_STATUSES,
    Appointment,
    Office,
    Schedule,
    Service,
    ServiceOffice,
)
from core.audit import Actor, record
from core.errors import NotFound
from core.link_tables import ids_per, set_ids
from core.rows import get_or_raise
from core.types import utcnow

# The GiroCode (EPC069-12) carries a beneficiary name of at most 70 characters and a remittance
# text of at most 140: the prefix, a space and a case number (at most 40 characters).
EPC_NAME_MAX = 70
CASE_NUMBER_MAX = 40
REMITTANCE_MAX = 140
REMITTANCE_PREFIX_MAX = REMITTANCE_MAX - CASE_NUMBER_MAX - 1

OFFICE_FIELDS = {
    "name": text(200, required=True),
    "timezone": timezone,
    "min_notice_minutes": integer(0, 60 * 24 * 60),
    "horizon_days": integer(1, 730),
    "authority": text(300),
    "address": text(1000, multiline=True),
    "email": email(required=False),
    "phone": text(50),
    "iban": iban,
    "bic": bic,
    "bank_name": text(200),
    "epc_name": text(EPC_NAME_MAX),
    "remittance_prefix": text(REMITTANCE_PREFIX_MAX),
    "privacy_contact": text(2000, multiline=True),
    "data_protection_officer": text(2000, multiline=True),
    "imprint": text(5000, multiline=True),
}

SERVICE_FIELDS = {
    "name": text(200, required=True),
    "name_en": text(200),
    "description": text(5000, multiline=True),
    "description_en": text(5000, multiline=True),
    "duration_minutes": integer(5, 480),
    # Each further person of one appointment (booking.composition); null: the whole duration.
    "extra_person_minutes": optional_integer(0, 480),
    "fee_cents": integer(0, 10_000_000),
    "currency": choice(["EUR"]),
    "fee_schedule_ref": text(200),
    "video": boolean,
    "onsite": boolean,
    "phone": boolean,
    "bring": text(2000, multiline=True),
    "requires_identity": boolean,
    "delivers_by_post": boolean,
    "active": boolean,
    "sort_order": integer(-10_000, 10_000),
    "office_ids": id_list,
}


# --- shared helpers ----------------------------------------------------------------------------


def active_upcoming(now: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions for appointments that still hold a place: active and not yet over."""
    return [
        col(Appointment.status).in_([s.value for s in ACTIVE_STATUSES]),
        col(Appointment.end_at) > now,
    ]


async def count_appointments(session: AsyncSession, *conditions: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(Appointment).where(*conditions)
    return int((await session.execute(query)).scalar_one())


async def refuse_if_booked(
    session: AsyncSession, booked: ColumnElement[bool], now: dt.datetime | None,
    upcoming: Callable[[int], InUse], on_record: InUse | None = None,
) -> None:
    """Raises ``upcoming(count)`` while ``booked`` appointments still hold a place, and
    ``on_record`` (when given) while there are any at all."""
    count = await count_appointments(session, booked, *active_upcoming(now or utcnow()))
    if count:
        raise upcoming(count)
    if on_record is not None and await count_appointments(session, booked):
        raise on_record


def changed_fields(obj: object, values: Mapping[str, Any]) -> list[str]:
    return sorted(name for name, value in values.items() if getattr(obj, name) != value)


def apply(obj: object, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
    if hasattr(obj, "updated_at"):
        obj.updated_at = utcnow()


async def taken(
    session: AsyncSession, id_column: Mapped[int | None], own_id: int | None,
    *same: ColumnElement[bool],
) -> bool:
    """Whether a row other than ``own_id`` (any row when None) meets ``same``: a name, an
    address or a day already in use."""
    query = select(id_column).where(*same)
    if own_id is not None:
        query = query.where(id_column != own_id)
    return (await session.execute(query)).first() is not None


async def apply_audited(
    session: AsyncSession, actor: Actor, obj: Office | Service | Schedule, data: Mapping[str, Any],
    fields: list[str], action: str,
) -> None:
    """``apply`` the changes and flush; audit ``action`` naming the changed ``fields``, if any
    (the object type is the table's name: ``office``, ``service``, ``schedule``)."""
    apply(obj, data)
    await session.flush()
    if fields:
        record(session, actor, action, obj.__tablename__, obj.id, {"fields": fields})


async def existing_office_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    rows = await session.execute(select(col(Office.id)).where(col(Office.id).in_(list(ids))))
    return {int(r) for r in rows.scalars() if r is not None}


async def check_offices_exist(session: AsyncSession, field: str, ids: Sequence[int]) -> None:
    missing = sorted(set(ids) - await existing_office_ids(session, ids))
    if missing:
        raise FieldErrors.one(
            field, "Unknown office: %(ids)s.", ids=", ".join(str(i) for i in missing)
        )


# --- offices -----------------------------------------------------------------------------------


async def list_offices(session: AsyncSession) -> list[Office]:
    rows = await session.execute(select(Office).order_by(col(Office.name), col(Office.id)))
    return list(rows.scalars())


async def get_office(session: AsyncSession, office_id: int) -> Office:
    return await get_or_raise(session, Office, office_id, NotFound("This office does not exist."))


async def _check_office_name(session: AsyncSession, name: str, own_id: int | None) -> None:
    if await taken(session, col(Office.id), own_id, func.lower(col(Office.name)) == name.lower()):
        raise Duplicate("An office with this name already exists.", field="name")


async def create_office(session: AsyncSession, actor: Actor, values: Mapping[str, Any]) -> Office:
    data = clean(values, OFFICE_FIELDS, required=["name"])
    await _check_office_name(session, data["name"], None)
    office = Office(**data)
    check_payment_names(office)
    session.add(office)
    await session.flush()
    record(session, actor, "office.create", "office", office.id, {"fields": sorted(data)})
    return office


async def update_office(
    session: AsyncSession, actor: Actor, office_id: int, changes: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> Office:
    office = await get_office(session, office_id)
    data = clean(changes, OFFICE_FIELDS)
    if "name" in data:
        await _check_office_name(session, data["name"], office_id)
    if "timezone" in data and data["timezone"] != office.timezone:
        # Opening hours are wall-clock times: a new zone would move every booked slot.
        booked = col(Appointment.office_id) == office_id
        await refuse_if_booked(session, booked, now, lambda n: InUse(
            "The time zone cannot change while %(count)s upcoming appointments exist.",
            field="timezone", count=n,
        ))
    merged = Office(**{**office.model_dump(), **data})
    check_payment_names(merged)
    await apply_audited(session, actor, office, data, changed_fields(office, data), "office.update")
    return office


def check_payment_names(office: Office) -> None:
    """An office with bank details must make a GiroCode: a beneficiary name of at most 70
    characters (the short name, else the authority's or the office's name). Checked when the
    office is saved, so a letter never fails when it is due."""
    if not office.iban:
        return
    beneficiary = " ".join((office.epc_name or office.authority or office.name).split())
    if len(beneficiary) > EPC_NAME_MAX:
        raise FieldErrors.one(
            "epc_name", "The GiroCode's beneficiary name may have at most %(max)s characters; "
            "the authority's name has %(count)s. Please enter a short name.",
            max=EPC_NAME_MAX, count=len(beneficiary),
        )


async def delete_office(
    session: AsyncSession, actor: Actor, office_id: int, now: dt.datetime | None = None
) -> None:
    office = await get_office(session, office_id)
    booked = col(Appointment.office_id) == office_id
    await refuse_if_booked(session, booked, now, lambda n: InUse(
        "This office still has %(count)s upcoming appointments. "
        "Cancel or move them before deleting it.", count=n,
    ), InUse("This office has appointments on record and cannot be deleted."))
    record(session, actor, "office.delete", "office", office_id, {"name": office.name})
    await session.delete(office)
    await session.flush()


# --- services ----------------------------------------------------------------------------------


async def list_services(session: AsyncSession) -> list[Service]:
    query = select(Service).order_by(col(Service.sort_order), col(Service.name), col(Service.id))
    return list((await session.execute(query)).scalars())


async def get_service(session: AsyncSession, service_id: int) -> Service:
    return await get_or_raise(
        session, Service, service_id, NotFound("This service does not exist.")
    )


async def service_office_ids(
    session: AsyncSession, service_ids: Sequence[int] | None = None
) -> dict[int, list[int]]:
    """Office ids per service (all services when ``service_ids`` is None)."""
    return await ids_per(
        session, col(ServiceOffice.service_id), col(ServiceOffice.office_id), service_ids
    )


async def _check_service_name(session: AsyncSession, name: str, own_id: int | None) -> None:
    same_name = func.lower(col(Service.name)) == name.lower()
    if await taken(session, col(Service.id), own_id, same_name):
        raise Duplicate("A service with this name already exists.", field="name")


async def create_service(
    session: AsyncSession, actor: Actor, values: Mapping[str, Any]
) -> Service:
    data = clean(values, SERVICE_FIELDS, required=["name"])
    office_ids: list[int] = data.pop("office_ids", [])
    await check_offices_exist(session, "office_ids", office_ids)
    await _check_service_name(session, data["name"], None)
    service = Service(**data)
    session.add(service)
    await session.flush()
    assert service.id is not None
    await set_ids(session, ServiceOffice, "service_id", service.id, "office_id", office_ids)
    fields = sorted([*data, "office_ids"] if office_ids else data)
    record(session, actor, "service.create", "service", service.id, {"fields": fields})
    return service


async def update_service(
    session: AsyncSession, actor: Actor, service_id: int, changes: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> Service:
    service = await get_service(session, service_id)
    data = clean(changes, SERVICE_FIELDS)
    if "name" in data:
        await _check_service_name(session, data["name"], service_id)
    fields: list[str] = []
    if "office_ids" in data:
        new_ids: list[int] = data.pop("office_ids")
        await check_offices_exist(session, "office_ids", new_ids)
        old_ids = (await service_office_ids(session, [service_id])).get(service_id, [])
        removed = sorted(set(old_ids) - set(new_ids))
        if removed:
            booked = and_(col(Appointment.service_id) == service_id,
                          col(Appointment.office_id).in_(removed))
            await refuse_if_booked(session, booked, now, lambda n: InUse(
                "%(count)s upcoming appointments for this service are booked at an office "
                "you want to remove. Cancel or move them first.",
                field="office_ids", count=n,
            ))
        if set(old_ids) != set(new_ids):
            await set_ids(session, ServiceOffice, "service_id", service_id, "office_id", new_ids)
            fields.append("office_ids")
    fields = sorted([*fields, *changed_fields(service, data)])
    await apply_audited(session, actor, service, data, fields, "service.update")
    return service


async def delete_service(
    session: AsyncSession, actor: Actor, service_id: int, now: dt.datetime | None = None
) -> None:
    service = await get_service(session, service_id)
    booked = col(Appointment.service_id) == service_id
    await refuse_if_booked(session, booked, now, lambda n: InUse(
        "This service still has %(count)s upcoming appointments. "
        "Cancel or move them before deleting it.", count=n,
    ), InUse("This service has appointments on record and cannot be deleted. "
             "Set it to inactive instead."))
    record(session, actor, "service.delete", "service", service_id, {"name": service.name})
    await session.delete(service)
    await session.flush()

