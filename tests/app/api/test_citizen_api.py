"""The citizen's token API: /me, confirm, cancel, reschedule, calendar file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import update
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.models import Appointment
from tests.app.api.conftest import DAY, token_of
from tests.app.api.test_public_api import assert_error, booking, iso
from tests.booking.factories import BERLIN, World, seats
from tests.conftest import live_server, running


async def book(client: httpx.AsyncClient, app: Starlette, db: Database, w: World,
               hour: int = 9, minute: int = 0, email: str = "erika@example.com") -> tuple[str, str]:
    r = await client.post("/api/v1/appointments", json=booking(w, iso(DAY, hour, minute), email))
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    return reference, await token_of(app, db, reference)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def free_starts(client: httpx.AsyncClient, w: World) -> list[str]:
    r = await client.get("/api/v1/availability", params={
        "service_id": w.service_id, "office_id": w.office_id,
        "from": DAY.isoformat(), "to": DAY.isoformat()})
    return [s["start"] for s in r.json()["slots"]]


async def test_me(client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World) -> None:
    reference, token = await book(client, app, db, seeded)
    r = await client.get("/api/v1/me", headers=auth(token))
    assert r.status_code == 200
    me = r.json()
    assert me["reference"] == reference and me["status"] == "reserved"
    assert me["start"] == iso(DAY, 9) and me["end"] == iso(DAY, 9, 15)
    assert me["join"] == {"opens_at": iso(DAY, 8, 45), "closes_at": iso(DAY, 9, 45)}
    assert me["case"] is None
    assert me["service"]["id"] == seeded.service_id and me["service"]["currency"] == "EUR"
    assert me["office"]["timezone"] == "Europe/Berlin"
    assert me["citizen"]["email"] == "erika@example.com"
    assert me["actions"] == {"can_confirm": True, "can_cancel": True, "can_reschedule": True}
    assert me["hold_expires_at"] is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer " + "A" * 43},
        {"Authorization": "Bearer not a token"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
async def test_bad_tokens_get_401(
    client: httpx.AsyncClient, seeded: World, headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/api/v1/me"), ("POST", "/api/v1/me/confirm"),
                         ("POST", "/api/v1/me/cancel"), ("POST", "/api/v1/me/reschedule"),
                         ("GET", "/api/v1/me/calendar.ics")):
        r = await client.request(method, path, headers=headers)
        assert_error(r, 401, "unauthorized")


async def test_token_in_query_is_not_accepted(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    _, token = await book(client, app, db, seeded)
    r = await client.get(f"/api/v1/me?token={token}")
    assert_error(r, 401, "unauthorized")


async def test_confirm_then_confirm_again(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    _, token = await book(client, app, db, seeded)
    for _ in range(2):
        r = await client.post("/api/v1/me/confirm", headers=auth(token))
        assert r.status_code == 200
        assert r.json()["status"] == "confirmed"
        assert r.json()["hold_expires_at"] is None
        assert r.json()["actions"]["can_confirm"] is False


async def test_confirm_after_hold_lapsed(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    reference, token = await book(client, app, db, seeded)
    async with db.transaction(write=True) as session:
        await session.execute(
            update(Appointment).where(Appointment.reference == reference)  # type: ignore[arg-type]
            .values(hold_expires_at=datetime.now(BERLIN) - timedelta(minutes=1))
        )
    r = await client.post("/api/v1/me/confirm", headers={**auth(token), "Accept-Language": "en"})
    error = assert_error(r, 409, "hold_expired")
    assert "not confirmed in time" in error["message"]
    # The lapsed hold no longer blocks the slot.
    assert iso(DAY, 9) in await free_starts(client, seeded)
    r = await client.get("/api/v1/me", headers=auth(token))
    assert r.json()["actions"] == {"can_confirm": False, "can_cancel": False,
                                   "can_reschedule": False}


async def test_cancel_frees_the_slot_at_once(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    _, token = await book(client, app, db, seeded)
    await client.post("/api/v1/me/confirm", headers=auth(token))
    assert iso(DAY, 9) not in await free_starts(client, seeded)
    r = await client.post("/api/v1/me/cancel", headers=auth(token))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert iso(DAY, 9) in await free_starts(client, seeded)
    assert await seats(db) == []
    assert_error(await client.post("/api/v1/me/cancel", headers=auth(token)), 409, "wrong_state")
    assert_error(await client.post("/api/v1/me/confirm", headers=auth(token)), 409, "wrong_state")
    # Someone else books the slot again.
    await book(client, app, db, seeded, email="max@example.com")


async def test_reschedule(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    reference, token = await book(client, app, db, seeded)
    r = await client.post("/api/v1/me/reschedule", headers=auth(token),
                          json={"start": iso(DAY, 10, 30)})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["reference"] == reference and me["status"] == "reserved"
    assert me["start"] == iso(DAY, 10, 30)
    free = await free_starts(client, seeded)
    assert iso(DAY, 9) in free and iso(DAY, 10, 30) not in free
    # Same token still works.
    r = await client.get("/api/v1/me", headers=auth(token))
    assert r.json()["start"] == iso(DAY, 10, 30)


async def test_reschedule_errors(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    _, token = await book(client, app, db, seeded)
    await book(client, app, db, seeded, hour=10, email="max@example.com")
    cases: list[tuple[Any, int, str]] = [
        ({"start": iso(DAY, 10)}, 409, "slot_taken"),
        ({"start": iso(DAY, 10, 5)}, 422, "not_a_slot"),
        ({"start": iso(DAY - timedelta(days=4), 10)}, 422, "not_a_slot"),
        ({"start": "tomorrow"}, 422, "validation_error"),
        ({"start": "2026-12-01T10:00:00"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ([], 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = await client.post("/api/v1/me/reschedule", headers=auth(token), json=body)
        assert_error(r, status, code)
    r = await client.post("/api/v1/me/reschedule", headers=auth(token), content=b"{oops")
    assert_error(r, 400, "malformed_json")
    r = await client.get("/api/v1/me", headers=auth(token))
    assert r.json()["start"] == iso(DAY, 9)


async def test_calendar_file(
    client: httpx.AsyncClient, app: Starlette, db: Database, seeded: World
) -> None:
    reference, token = await book(client, app, db, seeded)
    r = await client.get("/api/v1/me/calendar.ics", headers=auth(token))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    assert r.headers["content-disposition"] == f'attachment; filename="termin-{reference}.ics"'
    cal = Calendar.from_ical(r.content)
    assert cal["method"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == f"{reference}@buergerbuero"
    start = event.decoded("dtstart")
    assert start == datetime.fromisoformat(iso(DAY, 9))
    assert str(start.tzinfo) == "Europe/Berlin"
    await client.post("/api/v1/me/cancel", headers=auth(token))
    r = await client.get("/api/v1/me/calendar.ics", headers=auth(token))
    cal = Calendar.from_ical(r.content)
    assert cal["method"] == "CANCEL"
    assert int(cal.walk("VEVENT")[0]["sequence"]) == 1


async def test_token_rate_limit(
    settings_factory: Callable[..., Settings], db: Database, seeded: World
) -> None:
    app = create_app(settings_factory(rate_limits_enabled=True, rate_limit_token="5/minute"))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            codes = [(await client.get("/api/v1/me", headers=auth("A" * 43))).status_code
                     for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2


async def test_no_token_in_logs(
    settings_factory: Callable[..., Settings], db: Database, seeded: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL with its parameters
    app = create_app(settings_factory())
    access = logging.getLogger("uvicorn.access")
    async with live_server(app) as base:
        # uvicorn's access logger does not propagate; listen to it directly, at INFO.
        access.setLevel(logging.INFO)
        access.addHandler(caplog.handler)
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                _, token = await book(client, app, db, seeded)
                await client.get("/api/v1/me", headers=auth(token))
                await client.post("/api/v1/me/confirm", headers=auth(token))
                await client.post("/api/v1/me/reschedule", headers=auth(token),
                                  json={"start": iso(DAY, 11)})
                await client.get("/api/v1/me/calendar.ics", headers=auth(token))
                await client.post("/api/v1/me/cancel", headers=auth(token))
        finally:
            access.removeHandler(caplog.handler)
    assert "SELECT" in caplog.text  # SQL statements were logged ...
    assert "/api/v1/me/cancel" in caplog.text  # ... and uvicorn's access log lines
    assert token not in caplog.text
