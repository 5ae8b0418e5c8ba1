"""A citizen's history with everything the privacy rules touch: appointments (old and recent,
ended and running), a case with items, milestones, letters, feedback, an identity check, a
postal address and call events; an admin and a clerk."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from booking.models import Appointment
from calls.models import CallEvent
from cases.intake import open_request
from cases.milestones import Milestone
from cases.models import CaseItem, IdentityCheck
from core.audit import Actor, record
from core.types import utcnow
from postcall.dispatch_models import CaseDocument, Feedback, PostalAddress
from staff import passwords
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    add_office,
    add_service,
    add_user,
    bearer,
    context,
    decide,
    token_for,
)

CITIZEN = "Erika.Muster@Example.org"
OTHER = "someone.else@example.org"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (see tests/app/admin/conftest.py)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@dataclass
class Booked:
    id: int
    reference: str
    token: str
    case_id: int | None = None


@dataclass
class World:
    office_id: int
    service_id: int
    old_done: Booked  # completed 200 days ago, fee paid: retention anonymises it
    old_open_fee: Booked  # completed 200 days ago, fee still open: kept
    recent_done: Booked  # completed 10 days ago: kept until the period ends
    upcoming: Booked  # confirmed, next week: running
    other: Booked  # someone else's, old and cancelled


async def add_booking(
    app: Starlette, office_id: int, service_id: int, *, email: str, start: dt.datetime,
    status: str, payment_status: str | None = None, given_name: str = "Erika",
) -> Booked:
    state = context(app)
    nonce = state.links.new_nonce()
    token = state.links.token_for(nonce)
    async with state.db.transaction(write=True) as session:
        appointment = Appointment(
            reference="P-" + secrets.token_hex(4).upper(), office_id=office_id,
            service_id=service_id, start_at=start, end_at=start + dt.timedelta(minutes=15),
            status=status, given_name=given_name, family_name="Mustermann", email=email,
            email_norm=email.lower(), phone="+49 711 123456",
            date_of_birth=dt.date(1980, 5, 17), link_nonce=nonce,
            token_hash=state.links.hash_token(token),
            link_expires_at=utcnow() + dt.timedelta(days=365), ics_uid=secrets.token_hex(8),
        )
        session.add(appointment)
        await session.flush()
        assert appointment.id is not None
        booked = Booked(appointment.id, appointment.reference, token)
        record(session, Actor("citizen", None, "citizen"), "appointment.book", "appointment",
               appointment.id, {"reference": appointment.reference})
        request = await open_request(session, appointment)
        session.add(PostalAddress(case_id=request.id, lines="Hauptstraße 1\n73760 Ostfildern"))
        if payment_status is None:
            return booked
        check = IdentityCheck(case_id=request.id, appointment_id=appointment.id,
                              document_type="id_card",
                              checks="photo_matches", outcome="verified",
                              note="Bürgerin trug Brille")
        session.add(check)
        session.add(CallEvent(appointment_id=appointment.id, event="joined", role="citizen"))
        session.add(Feedback(appointment_id=appointment.id, office_id=office_id, rating=5,
                             comment="Sehr freundlich, Erika"))
        await session.flush()
        case = decide(request, case_number=f"2026-{secrets.randbelow(10**6):06d}",
                      amount_cents=1250, payment="invoice", payment_status=payment_status,
                      delivery="email", dispatch_status="not_required",
                      identity_check_id=check.id)
        await session.flush()
        assert case.id is not None
        booked.case_id = case.id
        session.add(CaseItem(case_id=case.id, name="Meldebescheinigung", unit_fee_cents=1250,
                             quantity=1, amount_cents=1250))
        session.add(Milestone(case_id=case.id, kind="completed"))
        session.add(CaseDocument(case_id=case.id, kind="fee_notice", origin="rev1",
                                 issue_date=start.date(), total_cents=1250,
                                 pdf=b"%PDF-1.7 Erika Mustermann", sha256="0" * 64))
        record(session, Actor("staff", 1, ADMIN_EMAIL), "case.complete", "case", case.id,
               {"case_number": case.case_number})
    return booked


@pytest.fixture
async def world(app: Starlette) -> World:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    now = utcnow()
    old = now - dt.timedelta(days=200)
    return World(
        office_id=office_id, service_id=service_id,
        old_done=await add_booking(app, office_id, service_id, email=CITIZEN, start=old,
                                   status="completed", payment_status="paid"),
        old_open_fee=await add_booking(app, office_id, service_id, email=CITIZEN,
                                       start=old + dt.timedelta(hours=1), status="completed",
                                       payment_status="open"),
        recent_done=await add_booking(app, office_id, service_id, email=CITIZEN,
                                      start=now - dt.timedelta(days=10), status="cancelled"),
        upcoming=await add_booking(app, office_id, service_id, email=CITIZEN,
                                   start=now + dt.timedelta(days=7), status="confirmed"),
        other=await add_booking(app, office_id, service_id, email=OTHER,
                                start=old, status="expired", given_name="Max"),
    )


@pytest.fixture
async def admin_headers(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    await add_user(app, ADMIN_EMAIL, "admin")
    return bearer(await token_for(client, ADMIN_EMAIL))


@pytest.fixture
async def clerk_headers(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    await add_user(app, CLERK_EMAIL, "clerk")
    return bearer(await token_for(client, CLERK_EMAIL))
