"""An appointment on site or by phone has no call: the hub's authorizer (``calls.gate``) refuses
its citizen's link token with 4403, as for an appointment that cannot be called, and admits the
same appointment by video (SQLite and Postgres)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Appointment
from calls.gate import CallGate
from core.types import utcnow
from signaling import CloseCode, ProtocolError
from tests.staff.helpers import add_appointment, add_office, add_service, context


async def test_no_call_without_video(app: Starlette) -> None:
    state = context(app)
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    appointment_id, token = await add_appointment(
        app, office_id=office_id, service_id=service_id,
        start=utcnow().replace(microsecond=0) + dt.timedelta(minutes=5))
    gate = CallGate(state.db, state.links, state.secret_key, join_before_minutes=15,
                    join_after_minutes=30)
    grant = await gate.authorize(token)
    assert grant is not None and grant.role == "citizen"
    for channel in ("onsite", "phone"):
        async with state.db.transaction(write=True) as session:
            await session.execute(update(Appointment).where(col(Appointment.id) ==
                                                            appointment_id).values(channel=channel))
        with pytest.raises(ProtocolError) as refused:
            await gate.authorize(token)
        assert refused.value.code == CloseCode.FORBIDDEN
