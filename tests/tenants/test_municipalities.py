"""Municipalities: the platform API and its role, host names, case numbers and retention per
municipality, and an installation with one municipality that behaves as before."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.worker import retention_task
from booking.models import Appointment
from cases.numbers import next_sequence
from core.audit import Actor
from core.tenancy import acting_for
from core.types import utcnow
from privacy.rules import PLACEHOLDER_DOMAIN
from tenants.service import contrast, create_municipality
from tests.staff.helpers import (
    PASSWORD,
    add_appointment,
    add_office,
    add_service,
    add_user,
    context,
    error_code,
)

PLATFORM = "platform@betrieb.example"


def _client(app: Starlette, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


async def _token(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_platform_admin_creates_a_town_and_its_first_admin(app: Starlette) -> None:
    await add_user(app, PLATFORM, "platform_admin")
    await add_user(app, "admin@stadt.example", "admin")
    async with _client(app, "anything.example") as anywhere, _client(app, "b.example") as b:
        platform = await _token(anywhere, PLATFORM)
        admin = await _token(anywhere, "admin@stadt.example")
        body = {"name": "Stadt B", "hosts": ["B.example"], "accent_colour": "#005A9C"}
        # Only the platform's role; and a municipality's admin is not the platform's.
        r = await anywhere.post("/api/v1/platform/municipalities", json=body, headers=admin)
        assert r.status_code == 403
        r = await anywhere.post("/api/v1/platform/municipalities", json=body, headers=platform)
        assert r.status_code == 201, r.text
        town = r.json()
        assert town["hosts"] == ["b.example"] and town["accent_colour"] == "#005a9c"
        # The same host twice, a colour white text cannot be read on: refused, in German.
        again = await anywhere.post("/api/v1/platform/municipalities", headers=platform,
                                    json={"name": "Stadt C", "hosts": ["b.example"]})
        assert again.status_code == 409
        pale = await anywhere.post("/api/v1/platform/municipalities", headers=platform,
                                   json={"name": "Stadt C", "accent_colour": "#ffcc00"})
        assert pale.status_code == 422 and "Kontrast" in pale.text
        r = await anywhere.post(f"/api/v1/platform/municipalities/{town['id']}/admins",
                                json={"email": "admin@b.example", "password": PASSWORD},
                                headers=platform)
        assert r.status_code == 201, r.text
        assert r.json()["municipality_id"] == town["id"]
        missing = await anywhere.post("/api/v1/platform/municipalities/999/admins",
                                      json={"email": "x@b.example", "password": PASSWORD},
                                      headers=platform)
        assert missing.status_code == 404
        # B's admin signs in on B's host only, and starts with an empty town.
        wrong = await anywhere.post("/api/v1/auth/token",
                                    json={"email": "admin@b.example", "password": PASSWORD})
        assert wrong.status_code == 401
        b_admin = await _token(b, "admin@b.example")
        assert (await b.get("/api/v1/admin/offices", headers=b_admin)).json() == []
        users = (await b.get("/api/v1/admin/users", headers=b_admin)).json()
        assert [u["email"] for u in users] == ["admin@b.example"]
        # The platform's account opens nothing of a municipality.
        r = await anywhere.get("/api/v1/admin/offices", headers=platform)
        assert r.status_code == 403
        assert error_code(r) == "forbidden"


async def test_one_municipality_serves_every_host(app: Starlette) -> None:
    office = await add_office(app, "Rathaus")
    for host in ("127.0.0.1:8000", "buergerbuero.example", "localhost"):
        async with _client(app, host) as client:
            offices = (await client.get("/api/v1/offices")).json()
            assert [o["id"] for o in offices] == [office]


async def test_case_numbers_are_counted_per_municipality(app: Starlette) -> None:
    async with context(app).db.transaction(write=True) as session:
        b = await create_municipality(session, Actor.system(), {"name": "B"})
        assert b.id is not None
        first_a = await next_sequence(session, 2030, 1)
        first_b = await next_sequence(session, 2030, b.id)
        second_a = await next_sequence(session, 2030, 1)
    assert (first_a, first_b, second_a) == (1, 1, 2)


async def test_retention_follows_each_municipality_s_own_period(app: Starlette) -> None:
    async with context(app).db.transaction(write=True) as session:
        b = await create_municipality(session, Actor.system(),
                                      {"name": "B", "hosts": ["b.example"],
                                       "retention_days": 5})
        assert b.id is not None
        b_id = b.id
    ended = utcnow() - dt.timedelta(days=10)
    references = {}
    for mid in (1, b_id):
        with acting_for(mid):
            office = await add_office(app, f"Amt {mid}")
            service = await add_service(app, [office], f"Dienst {mid}")
            await add_appointment(app, office_id=office, service_id=service, start=ended,
                                  status="completed")
            references[mid] = office
    await retention_task(context(app))
    async with context(app).db.transaction() as session:
        rows = (await session.execute(select(Appointment.office_id, Appointment.email_norm)
                                      .order_by(col(Appointment.id)))).all()
    anonymised = {office: email.endswith(PLACEHOLDER_DOMAIN) for office, email in rows}
    # A keeps the installation's 90 days, B erases after its own 5.
    assert anonymised == {references[1]: False, references[b_id]: True}


def test_contrast_is_computed_as_wcag_says() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54
