"""Seed data for the call page tests: an office, a service, an appointment at a chosen time, staff
accounts with cheap password hashes."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from booking.models import Appointment, Office, Service, ServiceOffice
from core.audit import Actor
from core.types import utcnow
from staff import passwords
from staff.service import create_user
from tests.app.pages.seed import app_ctx

PASSWORD = "Vier-Kerzen-am-Adventskranz"
CLERK_EMAIL = "clerk@musterstadt.example"


@pytest.fixture
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (the suite creates many accounts)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@dataclass
class CallSeed:
    office_id: int
    other_office_id: int
    service_id: int


async def seed_offices(app: Starlette) -> CallSeed:
    async with app_ctx(app).db.transaction(write=True) as session:
        office = Office(name="Bürgerbüro Musterstadt", timezone="Europe/Berlin")
        other = Office(name="Bürgerbüro Nordstadt", timezone="Europe/Berlin")
        service = Service(name="Meldebescheinigung", name_en="Registration certificate",
                          duration_minutes=15, fee_cents=1000)
        session.add_all([office, other, service])
        await session.flush()
        assert office.id is not None and other.id is not None and service.id is not None
        session.add(ServiceOffice(service_id=service.id, office_id=office.id))
        return CallSeed(office.id, other.id, service.id)


async def add_appointment(
    app: Starlette, seed: CallSeed, *, start: dt.datetime | None = None,
    status: str = "confirmed", minutes: int = 15, office_id: int | None = None,
    date_of_birth: dt.date | None = dt.date(1964, 8, 12), locale: str = "de",
) -> tuple[str, str]:
    """An appointment written directly (default: starting in 5 minutes, so the join window is
    open); returns (reference, link token)."""
    state = app_ctx(app)
    start = start or utcnow() + dt.timedelta(minutes=5)
    nonce = state.links.new_nonce()
    token = state.links.token_for(nonce)
    reference = "BB-" + secrets.token_hex(2).upper() + "-" + secrets.token_hex(2).upper()
    async with state.db.transaction(write=True) as session:
        session.add(Appointment(
            reference=reference, office_id=office_id or seed.office_id,
            service_id=seed.service_id, start_at=start,
            end_at=start + dt.timedelta(minutes=minutes), status=status,
            given_name="Erika", family_name="Mustermann", email="erika@example.org",
            email_norm="erika@example.org", phone="0711 123456", date_of_birth=date_of_birth,
            locale=locale, link_nonce=nonce, token_hash=state.links.hash_token(token),
            link_expires_at=start + dt.timedelta(days=30), ics_uid=secrets.token_hex(8),
        ))
    return reference, token


async def add_clerk(app: Starlette, office_ids: list[int], email: str = CLERK_EMAIL,
                    role: str = "clerk") -> None:
    async with app_ctx(app).db.transaction(write=True) as session:
        await create_user(session, email=email, password=PASSWORD, role=role,
                          office_ids=office_ids, actor=Actor.system())


def form_token(html: str) -> str:
    marker = 'name="csrf_token" value="'
    assert marker in html, "no CSRF field on the page"
    return html.split(marker, 1)[1].split('"', 1)[0]


async def login(client: httpx.AsyncClient, email: str = CLERK_EMAIL) -> None:
    page = await client.get("/staff/login")
    r = await client.post("/staff/login", data={
        "email": email, "password": PASSWORD, "csrf_token": form_token(page.text)})
    assert r.status_code == 303, r.text
