"""The clerk's call API: the agenda with ``waiting``, one appointment, and call tokens."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.calls import call_gate
from booking.models import Service
from calls.models import CallToken
from calls.service import call_token_hash
from tests.calls.conftest import CLERK, PASSWORD, state_of
from tests.staff.helpers import (
    CHANGEOVER_DAYS,
    add_appointment,
    add_office,
    add_service,
    add_user,
    bearer,
    berlin,
)

BERLIN = ZoneInfo("Europe/Berlin")


class Desk:
    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client

    async def setup(self) -> Desk:
        self.office = await add_office(self.app)
        self.other_office = await add_office(self.app, "Bürgerbüro Nord")
        self.service = await add_service(self.app, [self.office, self.other_office])
        await add_user(self.app, CLERK, "clerk", office_ids=[self.office], password=PASSWORD)
        r = await self.client.post("/api/v1/auth/token",
                                   json={"email": CLERK, "password": PASSWORD})
        self.headers = bearer(r.json()["access_token"])
        return self

    async def appointment(self, start: dt.datetime, *, status: str = "confirmed",
                          office: int | None = None) -> tuple[str, str]:
        appointment_id, token = await add_appointment(
            self.app, office_id=office or self.office, service_id=self.service,
            start=start, status=status)
        async with state_of(self.app).db.transaction() as session:
            from booking.models import Appointment

            found = await session.get(Appointment, appointment_id)
            assert found is not None
            return found.reference, token

    async def token(self, reference: str) -> httpx.Response:
        return await self.client.post(f"/api/v1/clerk/appointments/{reference}/call-token",
                                      headers=self.headers)


@pytest.fixture
async def desk(app: Starlette, client: httpx.AsyncClient) -> Desk:
    return await Desk(app, client).setup()


def soon(minutes: int = 5) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=minutes)


def today_at(hour: int, minute: int = 0) -> dt.datetime:
    day = dt.datetime.now(BERLIN).date()
    return dt.datetime.combine(day, dt.time(hour, minute), BERLIN).astimezone(dt.UTC)


# --- call tokens -------------------------------------------------------------------------------


async def test_call_token_until_the_window_closes(desk: Desk) -> None:
    start = soon(5)
    reference, _ = await desk.appointment(start)
    r = await desk.token(reference)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token"].startswith("ct-") and len(body["token"]) == 46
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() is not None
    assert expires == start + dt.timedelta(minutes=15 + 30)  # the window's end
    # Only a keyed hash is stored.
    async with state_of(desk.app).db.transaction() as session:
        rows = list((await session.execute(select(CallToken))).scalars())
    assert [row.token_hash for row in rows] == [
        call_token_hash(state_of(desk.app).secret_key, body["token"])
    ]
    assert body["token"] not in rows[0].token_hash


async def test_call_token_lives_at_most_two_hours(desk: Desk) -> None:
    reference, _ = await desk.appointment(soon(5 * 60))
    before = dt.datetime.now(dt.UTC)
    r = await desk.token(reference)
    assert r.status_code == 200
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert dt.timedelta(minutes=119) < expires - before <= dt.timedelta(minutes=121)


async def test_call_token_refusals(desk: Desk, client: httpx.AsyncClient) -> None:
    reference, _ = await desk.appointment(soon())
    r = await client.post(f"/api/v1/clerk/appointments/{reference}/call-token")
    assert r.status_code == 401
    r = await desk.token("T-NOPE")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    elsewhere, _ = await desk.appointment(soon(), office=desk.other_office)
    r = await desk.token(elsewhere)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    for status in ("reserved", "cancelled", "completed"):
        ref, _ = await desk.appointment(soon(), status=status)
        r = await desk.token(ref)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "wrong_state"), status
    over, _ = await desk.appointment(soon(-60))
    r = await desk.token(over)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "call_closed")
    r = await client.post(f"/api/v1/clerk/appointments/{over}/call-token",
                          headers={**desk.headers, "Accept-Language": "de"})
    assert r.json()["error"]["message"] == "Der Videoanruf zu diesem Termin ist vorbei."


async def test_admin_may_call_any_office(desk: Desk) -> None:
    await add_user(desk.app, "admin@stadt.example", "admin", password=PASSWORD)
    r = await desk.client.post("/api/v1/auth/token",
                               json={"email": "admin@stadt.example", "password": PASSWORD})
    elsewhere, _ = await desk.appointment(soon(), office=desk.other_office)
    r = await desk.client.post(f"/api/v1/clerk/appointments/{elsewhere}/call-token",
                               headers=bearer(r.json()["access_token"]))
    assert r.status_code == 200, r.text


async def test_authorizer_grants_the_join_window(desk: Desk) -> None:
    start = soon(5)
    reference, citizen_token = await desk.appointment(start)
    clerk_token = (await desk.token(reference)).json()["token"]
    gate = call_gate(state_of(desk.app))
    citizen = await gate.authorize(citizen_token)
    clerk = await gate.authorize(clerk_token)
    assert citizen is not None and clerk is not None
    assert (citizen.role, clerk.role) == ("citizen", "clerk")
    assert citizen.room == clerk.room == citizen.reference == reference
    assert citizen.opens_at == clerk.opens_at == start - dt.timedelta(minutes=15)
    assert citizen.closes_at == clerk.closes_at == start + dt.timedelta(minutes=15 + 30)
    assert await gate.authorize(clerk_token + "x") is None


# --- the agenda --------------------------------------------------------------------------------


async def test_agenda_of_today_with_citizen_details(desk: Desk) -> None:
    early, _ = await desk.appointment(today_at(0, 5))
    late, _ = await desk.appointment(today_at(23, 40))
    await desk.appointment(today_at(10), status="expired")  # a lapsed hold is no appointment
    await desk.appointment(today_at(11), office=desk.other_office)  # not my office
    await desk.appointment(today_at(12) + dt.timedelta(days=1))  # tomorrow
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.headers)
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["reference"] for i in items] == [early, late]
    item = items[0]
    assert item["waiting"] is False
    assert item["status"] == "confirmed"
    assert item["office_id"] == desk.office
    assert item["start"] == today_at(0, 5).astimezone(BERLIN).isoformat()
    assert item["service"] == {"id": desk.service, "name": "Meldebescheinigung",
                               "duration_minutes": 15}
    assert item["citizen"] == {"given_name": "Erika", "family_name": "Mustermann",
                               "email": "erika@example.org", "phone": "",
                               "date_of_birth": None}
    assert dt.datetime.fromisoformat(item["join"]["opens_at"]) == (
        today_at(0, 5) - dt.timedelta(minutes=15))


async def test_agenda_of_a_day_and_an_office(desk: Desk) -> None:
    day = dt.datetime.now(BERLIN).date() + dt.timedelta(days=3)
    start = dt.datetime.combine(day, dt.time(9), BERLIN).astimezone(dt.UTC)
    reference, _ = await desk.appointment(start)
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.headers,
                              params={"date": day.isoformat(), "office_id": desk.office})
    assert [i["reference"] for i in r.json()] == [reference]
    async with state_of(desk.app).db.transaction(write=True) as session:
        service = await session.get(Service, desk.service)
        assert service is not None
        service.name_en = "Registration certificate"
    r = await desk.client.get("/api/v1/clerk/appointments",
                              headers={**desk.headers, "Accept-Language": "en"},
                              params={"date": day.isoformat()})
    assert r.json()[0]["service"]["name"] == "Registration certificate"


@pytest.mark.parametrize("season", list(CHANGEOVER_DAYS))
async def test_agenda_on_a_dst_changeover_day(desk: Desk, season: str) -> None:
    """The day is Berlin's midnight to midnight in UTC: neither the UTC day nor 24 hours."""
    day, times = CHANGEOVER_DAYS[season]
    inside = [(await desk.appointment(berlin(day, h, m, fold)))[0] for h, m, fold, _ in times]
    for other in (berlin(day - dt.timedelta(days=1), 23, 45),
                  berlin(day + dt.timedelta(days=1), 0, 15)):
        await desk.appointment(other)
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.headers,
                              params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["reference"] for i in items] == inside
    assert [i["start"] for i in items] == [
        f"{day.isoformat()}T{h:02d}:{m:02d}:00{offset}" for h, m, _, offset in times
    ]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"date": "2026-02-30"}, 422),
        ({"date": "tomorrow"}, 422),
        ({"date": "2026-1-5"}, 422),
        ({"office_id": "x"}, 422),
        ({"office_id": "0"}, 422),
        ({"office_id": "999999"}, 404),
    ],
)
async def test_agenda_bad_queries(desk: Desk, params: dict[str, str], status: int) -> None:
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.headers, params=params)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] in ("validation_error", "not_found")


async def test_agenda_only_for_my_offices(desk: Desk) -> None:
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.headers,
                              params={"office_id": desk.other_office})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = await desk.client.get("/api/v1/clerk/appointments")
    assert r.status_code == 401


async def test_one_appointment(desk: Desk) -> None:
    reference, _ = await desk.appointment(soon())
    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}", headers=desk.headers)
    assert r.status_code == 200
    assert r.json()["reference"] == reference and r.json()["waiting"] is False
    elsewhere, _ = await desk.appointment(soon(), office=desk.other_office)
    r = await desk.client.get(f"/api/v1/clerk/appointments/{elsewhere}", headers=desk.headers)
    assert r.status_code == 403
    r = await desk.client.get("/api/v1/clerk/appointments/T-NOPE", headers=desk.headers)
    assert r.status_code == 404


async def test_a_link_token_that_looks_like_a_call_token(desk: Desk) -> None:
    """Link tokens are random URL-safe text: one may well begin with the call token prefix."""
    from sqlalchemy import update
    from sqlmodel import col

    from booking.models import Appointment

    reference, _ = await desk.appointment(soon())
    token = "ct-" + "A1b2-_" * 6 + "Zyx9"
    assert len(token) == 43
    state = state_of(desk.app)
    async with state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(token_hash=state.links.hash_token(token)))
    grant = await call_gate(state).authorize(token)
    assert grant is not None and grant.role == "citizen" and grant.reference == reference
