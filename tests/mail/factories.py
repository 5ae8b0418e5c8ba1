"""Rows for mail tests, inserted directly (independent of the booking service)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.links import LinkKeys
from booking.models import Appointment, AppointmentStatus, Office, Service
from core.jobs import enqueue


def office(**overrides: Any) -> Office:
    values: dict[str, Any] = {
        "name": "Bürgerbüro Ostfildern",
        "timezone": "Europe/Berlin",
        "email": "buergerbuero@ostfildern.example",
        "phone": "0711 3404-0",
    }
    values.update(overrides)
    return Office(**values)


def service(**overrides: Any) -> Service:
    values: dict[str, Any] = {
        "name": "Meldebescheinigung",
        "name_en": "Registration certificate",
        "duration_minutes": 15,
    }
    values.update(overrides)
    return Service(**values)


def appointment(
    office_row: Office,
    service_row: Service,
    links: LinkKeys,
    *,
    start: datetime = datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    minutes: int = 15,
    status: str = AppointmentStatus.confirmed,
    locale: str = "de",
    email: str = "erika.mustermann@example.org",
    sequence: int = 0,
    **overrides: Any,
) -> tuple[Appointment, str]:
    """An appointment row and its link token."""
    assert office_row.id is not None and service_row.id is not None
    nonce = links.new_nonce()
    token = links.token_for(nonce)
    values: dict[str, Any] = {
        "reference": "T-" + secrets.token_hex(4).upper(),
        "office_id": office_row.id,
        "service_id": service_row.id,
        "start_at": start,
        "end_at": start + timedelta(minutes=minutes),
        "status": status,
        "given_name": "Erika",
        "family_name": "Mustermann",
        "email": email,
        "email_norm": email.lower(),
        "locale": locale,
        "link_nonce": nonce,
        "token_hash": links.hash_token(token),
        "link_expires_at": start + timedelta(days=60),
        "hold_expires_at": (
            datetime.now(UTC) + timedelta(minutes=15)
            if status == AppointmentStatus.reserved else None
        ),
        "ics_uid": f"{secrets.token_hex(16)}@buergerbuero.test",
        "ics_sequence": sequence,
    }
    values.update(overrides)
    return Appointment(**values), token


async def add_office_and_service(session: AsyncSession) -> tuple[Office, Service]:
    o, s = office(), service()
    session.add_all([o, s])
    await session.flush()
    return o, s


async def add_appointment_with_mail(
    session: AsyncSession,
    links: LinkKeys,
    office_row: Office,
    service_row: Service,
    *,
    template: str = "confirmed",
    **kwargs: Any,
) -> tuple[Appointment, str]:
    """An appointment and its ``mail.appointment`` job, as the booking service would write them."""
    row, token = appointment(office_row, service_row, links, **kwargs)
    session.add(row)
    await session.flush()
    enqueue(session, "mail.appointment",
            {"appointment_id": row.id, "template": template, "sequence": row.ics_sequence})
    return row, token
