"""The clerk's desk: two offices (A, B), fee-schedule services, a clerk of each office, an
admin, and helpers to create appointments and call the desk API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from booking.models import Appointment, Service, ServiceOffice
from cases.models import Case, CaseState
from core.audit import AuditEvent
from core.types import utcnow
from staff import passwords
from tests.staff.helpers import add_appointment, add_office, add_user, bearer, token_for

CLERK_A = "clerk.a@stadt.example"
CLERK_B = "clerk.b@stadt.example"
ADMIN = "admin@stadt.example"


def year() -> int:
    """The year of case numbers made now, on the offices' (Berlin) calendar. Read when asked,
    not when a module is collected: a suite may cross New Year."""
    return utcnow().astimezone(ZoneInfo("Europe/Berlin")).year

# A check that passes every rule for "verified".
VERIFIED: dict[str, Any] = {
    "document_type": "id_card",
    "checks": ["photo_matches", "name_matches", "birth_date_matches", "document_valid",
               "hologram", "colour_shift", "tactile_relief", "security_questions"],
    "outcome": "verified",
}


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (many accounts on a small machine)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


def state_of(app: Starlette) -> AppContext:
    state = app.state.ctx
    assert isinstance(state, AppContext)
    return state


async def add_fee_service(app: Starlette, office_ids: list[int], *, name: str, fee_cents: int,
                          requires_identity: bool = True, ref: str = "",
                          name_en: str = "") -> int:
    async with state_of(app).db.transaction(write=True) as session:
        service = Service(name=name, name_en=name_en, fee_cents=fee_cents,
                          requires_identity=requires_identity, fee_schedule_ref=ref)
        session.add(service)
        await session.flush()
        assert service.id is not None
        for office_id in office_ids:
            session.add(ServiceOffice(service_id=service.id, office_id=office_id))
        return service.id


@dataclass
class Desk:
    app: Starlette
    client: httpx.AsyncClient
    office_a: int
    office_b: int
    certificate: int  # Meldebescheinigung, 10,00 EUR, requires identity
    conduct: int  # Führungszeugnis, 13,00 EUR, requires identity
    life: int  # Lebensbescheinigung, free, no identity needed
    clerk_a: dict[str, str]
    clerk_b: dict[str, str]
    admin: dict[str, str]

    @property
    def state(self) -> AppContext:
        return state_of(self.app)

    async def appointment(self, *, office: str = "a", service_id: int | None = None,
                          status: str = "confirmed",
                          start_in: dt.timedelta = dt.timedelta(minutes=-5)) -> tuple[str, str]:
        """A new appointment (default: started five minutes ago); (reference, link token)."""
        start = utcnow().replace(microsecond=0) + start_in
        appointment_id, token = await add_appointment(
            self.app, office_id=self.office_a if office == "a" else self.office_b,
            service_id=service_id or self.certificate, start=start, status=status,
        )
        async with self.state.db.transaction() as session:
            found = await session.get(Appointment, appointment_id)
            assert found is not None
            return found.reference, token

    async def verify(self, reference: str, headers: dict[str, str] | None = None,
                     **changes: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/clerk/appointments/{reference}/verification",
            json={**VERIFIED, **changes}, headers=headers or self.clerk_a,
        )

    async def complete(self, reference: str, body: dict[str, Any] | None = None,
                       headers: dict[str, str] | None = None) -> httpx.Response:
        body = body or {"items": [{"service_id": self.certificate, "quantity": 1}],
                        "payment": "invoice", "delivery": "post",
                        "postal_address": ["Marktplatz 3", "73760 Musterhausen"]}
        return await self.client.post(f"/api/v1/clerk/appointments/{reference}/complete",
                                      json=body, headers=headers or self.clerk_a)

    async def rows(self, model: Any, **where: Any) -> list[Any]:
        async with self.state.db.transaction() as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(col(getattr(model, name)) == value)
            return list((await session.execute(query)).scalars())

    async def decided(self) -> list[Case]:
        """The decided requests (completed or reopened); every appointment has an open one."""
        return [case for case in await self.rows(Case) if case.state != CaseState.open]

    async def appointment_row(self, reference: str) -> Appointment:
        found = await self.rows(Appointment, reference=reference)
        assert len(found) == 1 and isinstance(found[0], Appointment)
        return found[0]

    async def audit(self, action: str) -> list[AuditEvent]:
        return await self.rows(AuditEvent, action=action)


@pytest.fixture
async def desk(app: Starlette, client: httpx.AsyncClient) -> Desk:
    return await build_desk(app, client)


async def build_desk(app: Starlette, client: httpx.AsyncClient) -> Desk:
    office_a = await add_office(app, "Bürgerbüro Mitte")
    office_b = await add_office(app, "Bürgerbüro Nord")
    both = [office_a, office_b]
    certificate = await add_fee_service(app, both, name="Meldebescheinigung", fee_cents=1000,
                                        ref="GebVerz Nr. 1.2.3", name_en="Registration certificate")
    conduct = await add_fee_service(app, both, name="Führungszeugnis", fee_cents=1300,
                                    ref="JVKostG Nr. 1130")
    life = await add_fee_service(app, both, name="Lebensbescheinigung", fee_cents=0,
                                 requires_identity=False)
    await add_user(app, CLERK_A, "clerk", office_ids=[office_a])
    await add_user(app, CLERK_B, "clerk", office_ids=[office_b])
    await add_user(app, ADMIN, "admin")
    return Desk(
        app=app, client=client, office_a=office_a, office_b=office_b,
        certificate=certificate, conduct=conduct, life=life,
        clerk_a=bearer(await token_for(client, CLERK_A)),
        clerk_b=bearer(await token_for(client, CLERK_B)),
        admin=bearer(await token_for(client, ADMIN)),
    )

