"""The call's record: events, the ``in_call`` status (once), the audit trail with the clerk."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.calls import call_gate
from booking.models import Appointment
from calls.service import call_events, record_call_event
from core.audit import AuditEvent
from core.types import utcnow
from signaling import Event
from tests.calls.conftest import CLERK, PASSWORD, CallSite, state_of
from tests.calls.peers import Signal
from tests.staff.helpers import add_appointment, add_office, add_service, add_user, bearer


async def _setup(app: Starlette, client: httpx.AsyncClient, status: str = "confirmed") -> tuple[
    Appointment, str, dict[str, str]
]:
    office = await add_office(app)
    service = await add_service(app, [office])
    await add_user(app, CLERK, "clerk", office_ids=[office], password=PASSWORD)
    r = await client.post("/api/v1/auth/token", json={"email": CLERK, "password": PASSWORD})
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    appointment_id, token = await add_appointment(app, office_id=office, service_id=service,
                                                  start=start, status=status)
    async with state_of(app).db.transaction() as session:
        appointment = await session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment, token, bearer(r.json()["access_token"])


async def _audit(app: Starlette) -> list[tuple[str, str, int | None]]:
    async with state_of(app).db.transaction() as session:
        rows = (await session.execute(
            select(col(AuditEvent.action), col(AuditEvent.actor_type), col(AuditEvent.actor_id))
            .where(col(AuditEvent.action).in_(
                ["appointment.in_call", "call.join", "call.admit", "call.end"]))
            .order_by(col(AuditEvent.id))
        )).all()
    return [(a, t, i) for a, t, i in rows]


async def test_connected_moves_to_in_call_once(app: Starlette, client: httpx.AsyncClient) -> None:
    appointment, _, _ = await _setup(app, client)
    db = state_of(app).db
    for _ in range(2):  # a reconnect starts the call again; two instances may both report
        async with db.transaction(write=True) as session:
            assert await record_call_event(session, appointment.reference, "connected", "clerk",
                                           staff=None, now=utcnow())
    async with db.transaction() as session:
        fresh = await session.get(Appointment, appointment.id)
        assert fresh is not None and fresh.status == "in_call"
        assert appointment.id is not None
        events = await call_events(session, appointment.id)
    assert [(e.event, e.role) for e in events] == [("connected", "clerk")] * 2
    assert await _audit(app) == [("appointment.in_call", "system", None)]

    async with db.transaction(write=True) as session:
        assert not await record_call_event(session, "T-UNKNOWN", "joined", "citizen",
                                           staff=None, now=utcnow())


@pytest.mark.parametrize("status", ["completed", "cancelled"])
async def test_connected_does_not_reopen(
    app: Starlette, client: httpx.AsyncClient, status: str
) -> None:
    appointment, _, _ = await _setup(app, client, status=status)
    async with state_of(app).db.transaction(write=True) as session:
        await record_call_event(session, appointment.reference, "connected", "citizen",
                                staff=None, now=utcnow())
    async with state_of(app).db.transaction() as session:
        fresh = await session.get(Appointment, appointment.id)
    assert fresh is not None and fresh.status == status
    assert await _audit(app) == []


async def test_clerk_events_name_the_staff_user(app: Starlette, client: httpx.AsyncClient) -> None:
    appointment, _, headers = await _setup(app, client)
    r = await client.post(f"/api/v1/clerk/appointments/{appointment.reference}/call-token",
                          headers=headers)
    gate = call_gate(state_of(app))
    grant = await gate.authorize(r.json()["token"])
    assert grant is not None
    events_sent: tuple[Event, ...] = ("joined", "admitted", "ended")
    for event in events_sent:
        await gate.on_event(appointment.reference, event, "clerk")
    await gate.on_event(appointment.reference, "joined", "citizen")
    async with state_of(app).db.transaction() as session:
        user_id = (await session.execute(
            select(col(AuditEvent.actor_id)).where(col(AuditEvent.action) == "call.token")
        )).scalar_one()
        assert appointment.id is not None
        events = await call_events(session, appointment.id)
    assert await _audit(app) == [("call.join", "staff", user_id), ("call.admit", "staff", user_id),
                                 ("call.end", "staff", user_id)]
    assert [(e.event, e.role, e.staff_user_id) for e in events] == [
        ("joined", "clerk", user_id), ("admitted", "clerk", user_id), ("ended", "clerk", user_id),
        ("joined", "citizen", None),
    ]
    # Another instance that did not authorize the clerk still records, as the system.
    other = call_gate(state_of(app))
    await other.on_event(appointment.reference, "admitted", "clerk")
    assert (await _audit(app))[-1] == ("call.admit", "system", None)


async def test_no_token_reaches_a_log(site: CallSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reference, citizen_token = await site.appointment()
    clerk_token = await site.call_token(reference)
    _, reserved_token = await site.appointment(status="reserved")
    citizen = await Signal.open(site.base)
    await citizen.hello(citizen_token)
    clerk = await Signal.open(site.base)
    await clerk.hello(clerk_token)
    await clerk.send({"type": "admit"})
    await clerk.expect("peer-waiting")
    await clerk.expect("start")
    for token, code in ((reserved_token, 4403), (clerk_token + "x", 4401)):
        sig = await Signal.open(site.base)
        await sig.send({"type": "hello", "token": token})
        await sig.closed_with(code)
    await clerk.send({"type": "end"})
    await clerk.closed_with(1000)
    await citizen.close()
    # Everything the server side logged (the test's own WebSocket client logs its frames).
    text = "\n".join(r.getMessage() for r in caplog.records
                     if not r.name.startswith("websockets.client"))
    assert "closed with 440" in text  # the refusals were logged ...
    for token in (citizen_token, clerk_token, reserved_token, clerk_token[3:]):
        assert token not in text  # ... without the tokens
