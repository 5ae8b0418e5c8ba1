"""What the waitlist's tests share: a small office, joining, booking, running the worker, the
link tokens as the mails carry them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.api.waitlist import settled, sweep_task
from app.context import AppContext
from app.db import Database
from app.main import create_app
from app.settings import Settings
from app.worker import Worker
from booking.models import Appointment
from booking.waitlist import WaitlistWish
from tests.booking.factories import BERLIN, World, world
from tests.conftest import running
from tests.smtp_support import SmtpSink

# Three days ahead: always within the booking window, never today.
DAY: date = (datetime.now(BERLIN) + timedelta(days=3)).date()


@dataclass
class Site:
    app: Starlette
    client: httpx.AsyncClient
    world: World
    db: Database

    @property
    def state(self) -> AppContext:
        value = self.app.state.ctx
        assert isinstance(value, AppContext)
        return value

    async def join(self, name: str, *, from_time: str = "09:00", to_time: str = "09:30",
                   **extra: Any) -> str:
        """A wish of ``name`` for DAY between the two times; its link token."""
        body = {
            "service_id": self.world.service_id, "office_id": self.world.office_id,
            "windows": [{"from_date": DAY.isoformat(), "to_date": DAY.isoformat(),
                         "from_time": from_time, "to_time": to_time}],
            "citizen": {"given_name": name.title(), "family_name": "Muster",
                        "email": f"{name}@example.org"},
            **extra,
        }
        r = await self.client.post("/api/v1/waitlist", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "waiting"
        return await self.wish_token(r.json()["reference"])

    async def wish_token(self, reference: str) -> str:
        async with self.db.transaction() as session:
            nonce = (await session.execute(select(WaitlistWish.link_nonce).where(  # type: ignore[call-overload]
                WaitlistWish.reference == reference))).scalar_one()
        return self.state.links.token_for(nonce)

    async def book(self, name: str, hour: int, minute: int) -> str:
        """A confirmed appointment of ``name`` on DAY; its link token."""
        start = datetime.combine(DAY, time(hour, minute), BERLIN).isoformat()
        r = await self.client.post("/api/v1/appointments", json={
            "service_id": self.world.service_id, "office_id": self.world.office_id,
            "start": start, "citizen": {"given_name": name.title(), "family_name": "Muster",
                                        "email": f"{name}@example.org"}})
        assert r.status_code == 201, r.text
        async with self.db.transaction() as session:
            nonce = (await session.execute(select(Appointment.link_nonce).where(  # type: ignore[call-overload]
                Appointment.reference == r.json()["reference"]))).scalar_one()
        return self.state.links.token_for(nonce)

    async def me(self, token: str) -> dict[str, Any]:
        r = await self.client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def post(self, path: str, token: str) -> httpx.Response:
        return await self.client.post(path, headers=bearer(token))

    async def work(self, *, sweep: bool = False) -> None:
        """What the workers would do now: the triggers' jobs, then every due job (and the
        periodic sweep when asked), until nothing is left."""
        await settled(self.state)
        if sweep:
            await sweep_task(self.state)
        worker = Worker(self.state, periodic=[])
        while await worker.run_once():
            await settled(self.state)

    async def held(self) -> list[Appointment]:
        async with self.db.transaction() as session:
            rows = list((await session.execute(select(Appointment).where(
                Appointment.status.in_(["reserved", "confirmed"]))  # type: ignore[attr-defined]
                .order_by(Appointment.id))).scalars())  # type: ignore[arg-type]
            session.expunge_all()
        return rows


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def link_in(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    found = re.search(r"/t/([A-Za-z0-9_-]{43})", str(part.get_content()))
    assert found is not None, "no link in the mail"
    return found.group(1)


def mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.snapshot() if address in str(m["To"])]


@pytest.fixture
async def site(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink,
               db_url: str) -> AsyncIterator[Site]:
    """One office with two 15-minute places a day (09:00 and 09:15), bookings confirmed at
    once, mails to a real SMTP sink."""
    settings = settings_factory(require_email_confirmation=False, smtp_host="127.0.0.1",
                                smtp_port=smtp_sink.port)
    db = Database(db_url)
    w = await world(db, end=time(9, 30))
    application = create_app(settings)
    async with running(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Site(application, c, w, db)
    await db.dispose()
