"""Municipalities: the platform API and its role, host names, case numbers and retention per
municipality, and an installation with one municipality that behaves as before."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.settings import Settings
from app.tasks import PeriodicTask
from app.worker import Worker, retention_task
from booking.models import Appointment
from cases.numbers import next_sequence
from core.audit import Actor
from core.tenancy import acting_for, current_municipality
from core.types import utcnow
from privacy.rules import PLACEHOLDER_DOMAIN
from tenants.service import contrast, create_municipality
from tests.request_support import drain
from tests.staff.helpers import (
    BERLIN,
    PASSWORD,
    add_appointment,
    add_office,
    add_schedule,
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


async def test_town_b_s_pages_mails_and_calendar_carry_its_name_and_host(
    app: Starlette, settings: Settings
) -> None:
    """With several municipalities, B's start page, its booking mail (with the .ics) and the
    calendar download name B, and their links open on B's host."""
    async with context(app).db.transaction(write=True) as session:
        b = await create_municipality(session, Actor.system(),
                                      {"name": "Stadt Zwiebelbach", "hosts": ["b.example"]})
        b_id = b.id
    context(app).hosts.forget()
    with acting_for(b_id):
        office = await add_office(app, "Bürgerbüro Zwiebelbach")
        service = await add_service(app, [office], "Meldebescheinigung")
        await add_schedule(app, office, [service], start=dt.time(0), end=dt.time(23, 45))
    start = (utcnow() + dt.timedelta(days=2)).astimezone(BERLIN).replace(
        hour=10, minute=0, second=0, microsecond=0)
    async with _client(app, "b.example") as town_b, _client(app, "a.example") as town_a:
        assert "Stadt Zwiebelbach" in (await town_b.get("/")).text
        assert "Stadt Zwiebelbach" not in (await town_a.get("/")).text
        r = await town_b.post("/api/v1/appointments", json={
            "service_id": service, "office_id": office, "start": start.isoformat(),
            "citizen": {"given_name": "Zora", "family_name": "Zwiebel",
                        "email": "zora@example.org"}, "locale": "de"})
        assert r.status_code == 201, r.text
        await drain(app)
        mails = list(settings.mail_dir.glob("*.eml"))
        assert len(mails) == 1
        message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
        assert "Stadt Zwiebelbach" in str(message["From"])
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        body = text.get_content()
        assert "Stadt Zwiebelbach" in body
        token = re.search(r"http://b\.example/t/([A-Za-z0-9_-]+)", body)
        assert token is not None, body
        calendar = next(part for part in message.walk()
                        if part.get_content_type() == "text/calendar")
        ics = calendar.get_payload(decode=True).decode()
        assert "Stadt Zwiebelbach" in ics.replace("\r\n ", "")
        # The link opens on B's host, not on A's.
        assert (await town_b.get(f"/t/{token.group(1)}")).status_code == 200
        assert (await town_a.get(f"/t/{token.group(1)}")).status_code == 404
        download = await town_b.get(f"/t/{token.group(1)}/calendar.ics")
        assert download.status_code == 200
        unfolded = download.text.replace("\r\n ", "")
        assert "Stadt Zwiebelbach" in unfolded and "http://b.example/t/" in unfolded


async def test_a_path_prefix_selects_its_municipality(app: Starlette) -> None:
    async with context(app).db.transaction(write=True) as session:
        c = await create_municipality(session, Actor.system(),
                                      {"name": "Gemeinde C", "path_prefix": "/gemeinde-c"})
        c_id = c.id
    context(app).hosts.forget()
    office_a = await add_office(app, "Rathaus A")
    with acting_for(c_id):
        office_c = await add_office(app, "Rathaus C")
    async with _client(app, "portal.example") as client:
        assert [o["id"] for o in (await client.get("/api/v1/offices")).json()] == [office_a]
        offices = (await client.get("/gemeinde-c/api/v1/offices")).json()
        assert [o["id"] for o in offices] == [office_c]
        assert (await client.get("/gemeinde-cx/api/v1/offices")).status_code == 404


async def test_a_municipality_s_accent_colour_and_logo_brand_its_pages(app: Starlette) -> None:
    async with context(app).db.transaction(write=True) as session:
        await create_municipality(session, Actor.system(), {
            "name": "Stadt B", "hosts": ["b.example"], "accent_colour": "#8a1538",
            "logo_url": "/static/img/favicon.svg"})
    context(app).hosts.forget()
    async with _client(app, "b.example") as town_b, _client(app, "a.example") as town_a:
        page = (await town_b.get("/")).text
        assert 'href="/brand.css"' in page and 'src="/static/img/favicon.svg"' in page
        css = await town_b.get("/brand.css")
        assert css.headers["content-type"].startswith("text/css")
        assert "--c-primary: #8a1538" in css.text
        assert 'href="/brand.css"' not in (await town_a.get("/")).text
        assert (await town_a.get("/brand.css")).text == ""


async def test_the_worker_runs_each_periodic_task_for_each_municipality(app: Starlette) -> None:
    """Each run acts for one municipality: its queries see its objects, the jobs and audit
    events it adds are its own."""
    async with context(app).db.transaction(write=True) as session:
        b = await create_municipality(session, Actor.system(), {"name": "B"})
        b_id = b.id
    seen: list[int | None] = []
    done = asyncio.Event()

    async def tick(ctx: AppContext) -> None:
        seen.append(current_municipality())
        if len(seen) == 2:
            done.set()

    worker = Worker(context(app), name="tenants", handlers={},
                    periodic=[PeriodicTask("tick", 3600, tick)])
    task = asyncio.create_task(worker.run_forever())
    await asyncio.wait_for(done.wait(), 10)
    worker.stop()
    await asyncio.wait_for(task, 10)
    assert seen == [1, b_id]
