"""A call site: the app served by a real uvicorn, an office with a service, a clerk with an API
token, and helpers to create appointments and read back what the server recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.main import create_app
from app.settings import Settings
from booking.models import Appointment
from calls.models import CallEvent
from core.audit import AuditEvent
from core.types import utcnow
from staff import passwords
from tests.conftest import live_server
from tests.staff.helpers import add_appointment, add_office, add_service, add_user, bearer

PASSWORD = "Vier-Kerzen-am-Adventskranz"
CLERK = "clerk@stadt.example"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (many accounts on a small machine)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    # A short hello timeout, so the 4408 test need not wait the default 5 s.
    return settings_factory(call_hello_timeout_seconds=1.0)


def state_of(app: Starlette) -> AppContext:
    state = app.state.ctx
    assert isinstance(state, AppContext)
    return state


@dataclass
class CallSite:
    app: Starlette
    base: str
    http: httpx.AsyncClient
    office_id: int
    service_id: int
    clerk_headers: dict[str, str]

    @property
    def state(self) -> AppContext:
        return state_of(self.app)

    async def appointment(self, *, start_in: dt.timedelta = dt.timedelta(minutes=5),
                          status: str = "confirmed", minutes: int = 15,
                          office_id: int | None = None) -> tuple[str, str]:
        """A new appointment; returns (reference, citizen link token)."""
        start = utcnow().replace(microsecond=0) + start_in
        appointment_id, token = await add_appointment(
            self.app, office_id=office_id or self.office_id, service_id=self.service_id,
            start=start, status=status, minutes=minutes,
        )
        async with self.state.db.transaction() as session:
            found = await session.get(Appointment, appointment_id)
            assert found is not None
            return found.reference, token

    async def call_token(self, reference: str, headers: dict[str, str] | None = None) -> str:
        r = await self.http.post(f"/api/v1/clerk/appointments/{reference}/call-token",
                                 headers=headers or self.clerk_headers)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        assert isinstance(token, str)
        return token

    async def status(self, reference: str) -> str:
        async with self.state.db.transaction() as session:
            found = (await session.execute(
                select(Appointment).where(col(Appointment.reference) == reference)
            )).scalar_one()
            return found.status

    async def events(self, reference: str) -> list[tuple[str, str, int | None]]:
        async with self.state.db.transaction() as session:
            rows = (await session.execute(
                select(col(CallEvent.event), col(CallEvent.role), col(CallEvent.staff_user_id))
                .join(Appointment, col(Appointment.id) == col(CallEvent.appointment_id))
                .where(col(Appointment.reference) == reference)
                .order_by(col(CallEvent.id))
            )).all()
            return [(e, r, u) for e, r, u in rows]

    async def audit(self, action_prefix: str) -> list[AuditEvent]:
        async with self.state.db.transaction() as session:
            rows = list((await session.execute(
                select(AuditEvent).where(col(AuditEvent.action).startswith(action_prefix))
                .order_by(col(AuditEvent.id))
            )).scalars())
            session.expunge_all()
            return rows

    async def agenda(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get("/api/v1/clerk/appointments", params=params,
                                headers=self.clerk_headers)
        assert r.status_code == 200, r.text
        items = r.json()
        assert isinstance(items, list)
        return items


async def seed_site(app: Starlette, base: str, http: httpx.AsyncClient) -> CallSite:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    await add_user(app, CLERK, "clerk", office_ids=[office_id], password=PASSWORD)
    r = await http.post("/api/v1/auth/token", json={"email": CLERK, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return CallSite(app, base, http, office_id, service_id, bearer(r.json()["access_token"]))


@asynccontextmanager
async def serve_site(settings: Settings) -> AsyncIterator[CallSite]:
    app = create_app(settings)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield await seed_site(app, base, http)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[CallSite]:
    async with serve_site(settings) as served:
        yield served


@dataclass
class Instances:
    """Two app instances (two uvicorns) on one database and one Redis."""

    app_a: Starlette
    base_a: str
    http_a: httpx.AsyncClient
    app_b: Starlette
    base_b: str
    http_b: httpx.AsyncClient


@asynccontextmanager
async def two_instances(settings: Settings, redis_url: str) -> AsyncIterator[Instances]:
    shared = settings.model_copy(update={"redis_url": redis_url})
    app_a, app_b = create_app(shared), create_app(shared)
    async with (
        live_server(app_a) as base_a,
        live_server(app_b) as base_b,
        httpx.AsyncClient(base_url=base_a, timeout=30) as http_a,
        httpx.AsyncClient(base_url=base_b, timeout=30) as http_b,
    ):
        yield Instances(app_a, base_a, http_a, app_b, base_b, http_b)
