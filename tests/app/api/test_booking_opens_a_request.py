"""A booking through the public API opens the citizen's request: the appointment is its first
channel, the request carries the reference, the service, the office and its own copy of the
citizen's data, and stays open until a clerk decides it. A slot already taken leaves nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from app.db import Database
from booking.models import Appointment
from cases.models import Case
from tests.app.api.conftest import DAY
from tests.app.api.test_public_api import booking, iso
from tests.booking.factories import World


async def test_a_booking_opens_its_request(client: httpx.AsyncClient, db: Database,
                                           seeded: World) -> None:
    body = booking(seeded, iso(DAY, 10), "Erika.Muster@Example.org")
    body["citizen"] |= {"phone": "+49 711 123456", "date_of_birth": "1980-05-17"}
    r = await client.post("/api/v1/appointments", json=body)
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    async with db.transaction() as session:
        appointment = (await session.execute(
            select(Appointment).where(col(Appointment.reference) == reference))).scalar_one()
        assert appointment.case_id is not None
        request = await session.get(Case, appointment.case_id)
    assert request is not None
    # The address as booking stored it (the domain is normalised by the e-mail validation).
    assert request.email == appointment.email == "Erika.Muster@example.org"
    assert (request.reference, request.channel, request.state) == (reference, "video", "open")
    assert (request.office_id, request.service_id) == (seeded.office_id, seeded.service_id)
    assert (request.given_name, request.family_name) == ("Erika", "Mustermann")
    assert request.phone == "+49 711 123456"
    assert request.date_of_birth is not None and request.date_of_birth.isoformat() == "1980-05-17"
    assert request.locale == "de"
    # Not decided yet: no case number, no decision, nothing to pay.
    assert request.case_number is None and request.completed_at is None
    assert (request.payment, request.payment_status, request.delivery) == ("", "", "")
    assert request.revision == 0 and request.amount_cents == 0


async def test_a_taken_slot_leaves_no_request(client: httpx.AsyncClient, db: Database,
                                              seeded: World) -> None:
    # The world has one seat per slot: the second booking of 09:00 is refused.
    first = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert first.status_code == 201, first.text
    second = await client.post("/api/v1/appointments",
                               json=booking(seeded, iso(DAY, 9), "max@example.org"))
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "slot_taken"
    async with db.transaction() as session:
        requests = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
        appointments = (await session.execute(
            select(func.count()).select_from(Appointment))).scalar_one()
    assert (requests, appointments) == (1, 1)


async def test_names_with_line_breaks_are_refused(client: httpx.AsyncClient, db: Database,
                                                  seeded: World) -> None:
    for field, value in (("given_name", "Erika\r\nBcc: x@evil.example"),
                         ("family_name", "Muster\x00mann"), ("family_name", "Muster\tmann")):
        body = booking(seeded, iso(DAY, 11))
        body["citizen"][field] = value
        r = await client.post("/api/v1/appointments", json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        # Named field, or (a NUL, refused before validation) the characters are named.
        assert f"citizen.{field}" in error["message"] or "Zeichen" in error["message"], error
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 0
