"""A busy month: 31 days, 10 clerks, 15-minute slots, 5,000 bookings; exactly the full units are
gone. (How fast: `make bench`, "availability uncached p99", on the same month.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert, select

from app.db import Database
from booking.availability import day_candidates, free_slots, zone
from booking.models import Appointment, Schedule, SlotSeat
from tests.booking.factories import world

FIRST = date(2026, 12, 1)
NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.slow
async def test_month_with_five_thousand_bookings(db: Database) -> None:
    w = await world(db, start=time(8), end=time(18), capacity=10)
    tz = zone("Europe/Berlin")
    async with db.transaction() as session:
        schedule = (await session.execute(select(Schedule))).scalar_one()
        session.expunge_all()
    duration = timedelta(minutes=15)
    units = [c.start for d in range(31)
             for c in day_candidates([schedule], FIRST + timedelta(days=d), tz, duration)]
    assert len(units) == 31 * 40
    # Fill the month unevenly: 5,000 bookings; the first units get all 10 seats taken.
    plan = [(unit, seat) for unit in units for seat in range(10)][:5000]
    appointments = [
        {
            "reference": f"BB-{i:08d}", "office_id": w.office_id, "service_id": w.service_id,
            "schedule_id": schedule.id, "start_at": unit, "end_at": unit + duration,
            "status": "confirmed", "given_name": "A", "family_name": "B",
            "email": f"p{i}@example.com", "email_norm": f"p{i}@example.com", "locale": "de",
            "link_nonce": f"n{i}", "token_hash": f"h{i}", "link_expires_at": unit + duration,
            "ics_uid": f"u{i}", "ics_sequence": 0, "created_at": NOW, "updated_at": NOW,
        }
        for i, (unit, _) in enumerate(plan)
    ]
    async with db.transaction(write=True) as session:
        await session.execute(insert(Appointment), appointments)
        ids = dict((await session.execute(select(Appointment.reference, Appointment.id))).all())  # type: ignore[call-overload]
        await session.execute(insert(SlotSeat), [
            {"schedule_id": schedule.id, "unit_start": unit, "seat": seat, "capacity": 10,
             "appointment_id": ids[f"BB-{i:08d}"]}
            for i, (unit, seat) in enumerate(plan)
        ])

    async with db.transaction() as session:
        slots = await free_slots(session, service_id=w.service_id, office_id=w.office_id,
                                 start_date=FIRST, end_date=FIRST + timedelta(days=30), now=NOW)
    # 5,000 = 10 seats × 500 units: exactly those 500 units are full.
    assert len(slots) == len(units) - 500
    full = {unit for unit, _ in plan}
    assert len(full) == 500
    assert not full & {slot.start for slot in slots}
    assert {slot.start for slot in slots} == set(units) - full
