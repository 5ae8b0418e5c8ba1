"""The call's moments for the office's figures (``call_record``): the room's events set the
waiting, admission, start and end once each, and the clerk's page reports the media route,
its set-up time and failed attempts (``POST /staff/call/{reference}/media``)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Appointment
from calls.models import CallRecord
from calls.service import record_call_event
from core.types import utcnow
from tests.calls.conftest import CLERK, PASSWORD, state_of
from tests.staff.helpers import (
    add_appointment,
    add_office,
    add_service,
    add_user,
    form_token,
    page_login,
)


async def _appointment(app: Starlette) -> tuple[int, str, int]:
    office = await add_office(app)
    service = await add_service(app, [office])
    appointment_id, _ = await add_appointment(
        app, office_id=office, service_id=service,
        start=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    async with state_of(app).db.transaction() as session:
        appointment = await session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment_id, appointment.reference, office


async def _record(app: Starlette, appointment_id: int) -> CallRecord | None:
    async with state_of(app).db.transaction() as session:
        return (await session.execute(select(CallRecord).where(
            col(CallRecord.appointment_id) == appointment_id))).scalar_one_or_none()


async def test_events_set_each_moment_once(app: Starlette) -> None:
    appointment_id, reference, _ = await _appointment(app)
    t0 = utcnow().replace(microsecond=0)
    steps = [
        ("joined", "clerk", 0),  # the clerk's joining is no moment of the figures
        ("joined", "citizen", 10),
        ("joined", "citizen", 20),  # a reconnect: still waiting since the first
        ("admitted", "clerk", 95),
        ("connected", "clerk", 96),
        ("admitted", "clerk", 200),  # again: the first admission counts
        ("connected", "citizen", 300),  # a reconnect starts the call again
        ("ended", "clerk", 96 + 600),
        ("ended", "clerk", 2000),
    ]
    db = state_of(app).db
    for event, role, second in steps:
        async with db.transaction(write=True) as session:
            assert await record_call_event(session, reference, event, role, staff=None,
                                           now=t0 + dt.timedelta(seconds=second))
    record = await _record(app, appointment_id)
    assert record is not None
    assert record.waiting_at == t0 + dt.timedelta(seconds=10)
    assert record.admitted_at == t0 + dt.timedelta(seconds=95)
    assert record.started_at == t0 + dt.timedelta(seconds=96)
    assert record.ended_at == t0 + dt.timedelta(seconds=696)
    assert (record.wait_seconds, record.call_seconds) == (85, 600)
    assert (record.route, record.setup_ms, record.setup_failures) == (None, None, 0)


async def test_no_record_without_a_call(app: Starlette) -> None:
    appointment_id, reference, _ = await _appointment(app)
    async with state_of(app).db.transaction(write=True) as session:
        assert await record_call_event(session, reference, "joined", "clerk", staff=None,
                                       now=utcnow())
    assert await _record(app, appointment_id) is None


async def test_the_clerks_page_reports_the_media(app: Starlette,
                                                 client: httpx.AsyncClient) -> None:
    appointment_id, reference, office = await _appointment(app)
    await add_user(app, CLERK, "clerk", office_ids=[office], password=PASSWORD)
    url = f"/staff/call/{reference}/media"
    assert (await client.post(url, data={"outcome": "failed"})).status_code in (401, 403)
    await page_login(client, CLERK, PASSWORD)
    csrf = form_token((await client.get("/staff")).text)

    for bad in ({"outcome": "maybe"}, {"outcome": "connected", "route": "turn"},
                {"outcome": "connected", "setup_ms": "-5"}):
        r = await client.post(url, data={"csrf_token": csrf, **bad})
        assert r.status_code == 422, (bad, r.text)
    assert await _record(app, appointment_id) is None

    for fields in ({"outcome": "failed"}, {"outcome": "failed"},
                   {"outcome": "connected", "route": "relay", "setup_ms": "2400"},
                   # later reports of a reconnect change nothing
                   {"outcome": "connected", "route": "direct", "setup_ms": "300"},
                   {"outcome": "failed"}):
        r = await client.post(url, data={"csrf_token": csrf, **fields})
        assert r.status_code == 204, r.text
    record = await _record(app, appointment_id)
    assert record is not None
    assert (record.route, record.setup_ms, record.setup_failures) == ("relay", 2400, 2)

    r = await client.post("/staff/call/ZZZZ-ZZZZ/media",
                          data={"csrf_token": csrf, "outcome": "failed"})
    assert r.status_code == 404
