"""Helpers for the staff and admin tests: accounts, tokens, offices, appointments."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from app.context import AppContext
from booking.models import Appointment, Office, Schedule, ScheduleService, Service, ServiceOffice
from cases.intake import open_request
from cases.models import Case, CaseState
from core.audit import Actor, AuditEvent
from core.types import utcnow
from staff.service import create_user

PASSWORD = "Vier-Kerzen-am-Adventskranz"
ADMIN_EMAIL = "admin@stadt.example"
CLERK_EMAIL = "clerk@stadt.example"

BERLIN = ZoneInfo("Europe/Berlin")
# Europe/Berlin's changeover days, each with wall times on it (hour, minute, fold) and their UTC
# offset: 23 hours (02:00 → 03:00) and 25 hours (03:00 → 02:00, the hour from 02:00 twice).
CHANGEOVER_DAYS = {
    "spring": (dt.date(2026, 3, 29), [(0, 15, 0, "+01:00"), (1, 45, 0, "+01:00"),
                                      (3, 0, 0, "+02:00"), (23, 45, 0, "+02:00")]),
    "autumn": (dt.date(2026, 10, 25), [(0, 15, 0, "+02:00"), (2, 30, 0, "+02:00"),
                                       (2, 30, 1, "+01:00"), (23, 45, 0, "+01:00")]),
}


def berlin(day: dt.date, hour: int, minute: int, fold: int = 0) -> dt.datetime:
    """A wall-clock time in Berlin (``fold=1``: the second of a repeated hour), in UTC."""
    wall = dt.datetime.combine(day, dt.time(hour, minute), BERLIN).replace(fold=fold)
    return wall.astimezone(dt.UTC)


def context(app: Starlette) -> AppContext:
    state = app.state.ctx
    assert isinstance(state, AppContext)
    return state


async def add_user(app: Starlette, email: str, role: str = "clerk", *,
                   office_ids: list[int] | None = None, password: str = PASSWORD) -> int:
    async with context(app).db.transaction(write=True) as session:
        user = await create_user(session, email=email, password=password, role=role,
                                 office_ids=office_ids or [], actor=Actor.system())
        assert user.id is not None
        return user.id


async def token_for(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def add_office(app: Starlette, name: str = "Bürgerbüro Mitte",
                     timezone: str = "Europe/Berlin") -> int:
    async with context(app).db.transaction(write=True) as session:
        office = Office(name=name, timezone=timezone)
        session.add(office)
        await session.flush()
        assert office.id is not None
        return office.id


async def add_service(app: Starlette, office_ids: list[int], name: str = "Meldebescheinigung",
                      duration: int = 15) -> int:
    async with context(app).db.transaction(write=True) as session:
        service = Service(name=name, duration_minutes=duration)
        session.add(service)
        await session.flush()
        assert service.id is not None
        for office_id in office_ids:
            session.add(ServiceOffice(service_id=service.id, office_id=office_id))
        return service.id


async def add_schedule(app: Starlette, office_id: int, service_ids: list[int], *,
                       start: dt.time = dt.time(8), end: dt.time = dt.time(12),
                       capacity: int = 2, weekdays: str = "0,1,2,3,4,5,6") -> int:
    async with context(app).db.transaction(write=True) as session:
        schedule = Schedule(office_id=office_id, weekdays=weekdays, start_time=start,
                            end_time=end, slot_minutes=15, capacity=capacity,
                            valid_from=dt.date(2020, 1, 1))
        session.add(schedule)
        await session.flush()
        assert schedule.id is not None
        for service_id in service_ids:
            session.add(ScheduleService(schedule_id=schedule.id, service_id=service_id))
        return schedule.id


async def add_appointment(
    app: Starlette, *, office_id: int, service_id: int, start: dt.datetime,
    schedule_id: int | None = None, status: str = "confirmed", minutes: int = 15,
    given_name: str = "Erika", family_name: str = "Mustermann",
) -> tuple[int, str]:
    """An appointment row written directly, with its open request (as booking makes them);
    returns (id, citizen link token)."""
    state = context(app)
    nonce = state.links.new_nonce()
    token = state.links.token_for(nonce)
    async with state.db.transaction(write=True) as session:
        appointment = Appointment(
            reference="T-" + secrets.token_hex(4).upper(), office_id=office_id,
            service_id=service_id, schedule_id=schedule_id, start_at=start,
            end_at=start + dt.timedelta(minutes=minutes), status=status,
            given_name=given_name, family_name=family_name, email="erika@example.org",
            email_norm="erika@example.org", link_nonce=nonce,
            token_hash=state.links.hash_token(token),
            link_expires_at=start + dt.timedelta(days=30), ics_uid=secrets.token_hex(8),
        )
        session.add(appointment)
        await session.flush()
        await open_request(session, appointment)
        assert appointment.id is not None
        return appointment.id, token


def decide(case: Case, **fields: Any) -> Case:
    """Fill in a request's decision as the desk's completion would (for tests that need a
    decided request without going through the desk): completed, revision 1, ``fields``."""
    case.state = CaseState.completed.value
    case.revision = max(case.revision, 1)
    case.completed_at = case.completed_at or utcnow()
    for name, value in fields.items():
        setattr(case, name, value)
    return case


async def audit_events(app: Starlette, action: str | None = None) -> list[AuditEvent]:
    async with context(app).db.transaction() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
        if action is not None:
            query = query.where(AuditEvent.action == action)  # type: ignore[arg-type]
        events = list((await session.execute(query)).scalars())
        for event in events:
            session.expunge(event)
        return events


def next_weekday_at(hour: int, minute: int = 0, days: int = 7,
                    zone: str = "Europe/Berlin") -> dt.datetime:
    """A local wall time some days ahead, as aware UTC."""
    from zoneinfo import ZoneInfo

    local_day = dt.datetime.now(ZoneInfo(zone)).date() + dt.timedelta(days=days)
    return dt.datetime.combine(local_day, dt.time(hour, minute), ZoneInfo(zone)).astimezone(dt.UTC)


def error_code(response: httpx.Response) -> Any:
    return response.json()["error"]["code"]


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    marker = 'name="csrf_token" value="'
    assert marker in html, "no CSRF field on the page"
    return html.split(marker, 1)[1].split('"', 1)[0]


async def page_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD,
                     next_url: str | None = None) -> httpx.Response:
    page = await client.get("/staff/login")
    data = {"email": email, "password": password, "csrf_token": form_token(page.text)}
    if next_url is not None:
        data["next"] = next_url
    return await client.post("/staff/login", data=data)


async def session_token(client: httpx.AsyncClient) -> str:
    """The CSRF token of the logged-in page session (from the logout form)."""
    page = await client.get("/staff")
    assert page.status_code == 200, page.text
    return form_token(page.text)
