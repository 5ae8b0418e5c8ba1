"""The booking's one read (``booking.slot_offer``) against the availability grid, and the
booking's plain-statement writes: references, the winning schedule, the returned appointment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.db import Database
from booking import service as service_module
from booking.availability import Candidate, day_candidates, local_date, zone
from booking.links import LinkKeys
from booking.models import Appointment, Schedule, Service, SlotSeat
from booking.service import BookingPolicy, CitizenInput, book, cancel, reschedule
from booking.slot_offer import SlotOffer, WeeklyOpening, load_slot_offer, pick_slot
from core.audit import Actor, AuditEvent
from core.errors import NotASlot, NotFound
from tests.booking.factories import (
    add_closure,
    add_schedule,
    appointments,
    local,
    seats,
    world,
)

POLICY = BookingPolicy()
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# Zones far east and west of UTC (the local day is not the UTC day), half-hour offsets, and a
# 30-minute daylight saving shift; days around their changeovers.
ZONES = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 23)],
    "Pacific/Kiritimati": [date(2026, 6, 1)],
    "Pacific/Pago_Pago": [date(2026, 6, 1)],
    "America/St_Johns": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
}
OPENINGS = [  # (start, end, slot minutes, weekdays, valid from, valid until)
    (time(0, 30), time(4, 0), 15, "0,1,2,3,4,5,6", date(2020, 1, 1), None),
    (time(1, 0), time(3, 0), 20, "0,1,2,3,4,5,6", date(2020, 1, 1), date(2030, 1, 1)),
    (time(8, 0), time(16, 0), 30, "0,2,4,6", date(2020, 1, 1), None),
    (time(22, 0), time(23, 50), 10, "1,3,5", date(2026, 6, 1), None),
    (time(9, 0), time(8, 0), 15, "0,1,2,3,4,5,6", date(2020, 1, 1), None),  # never open
]


def _offer(tz: str, openings: list[WeeklyOpening], duration: int,
           closed: frozenset[date] = frozenset()) -> SlotOffer:
    return SlotOffer(office_id=1, timezone=tz, min_notice_minutes=0, horizon_days=36500,
                     service_id=1, duration_minutes=duration, offered=True, closed=closed,
                     openings=tuple(openings))


@pytest.mark.parametrize("tz_name", list(ZONES))
@pytest.mark.parametrize("duration", [10, 15, 45])
def test_pick_slot_finds_exactly_the_grid_of_the_availability(tz_name: str, duration: int) -> None:
    tz = zone(tz_name)
    openings = [WeeklyOpening(i + 1, weekdays, start, end, step, 2, valid_from, valid_until)
                for i, (start, end, step, weekdays, valid_from, valid_until) in enumerate(OPENINGS)]
    schedules = [Schedule(id=o.id, office_id=1, weekdays=o.weekdays, start_time=o.start_time,
                          end_time=o.end_time, slot_minutes=o.slot_minutes, capacity=o.capacity,
                          valid_from=o.valid_from, valid_until=o.valid_until) for o in openings]
    offer = _offer(tz_name, openings, duration)
    grids: dict[date, list[Candidate]] = {}
    found = missed = 0
    for day in ZONES[tz_name]:
        # Every 5 minutes of the day and of the hours around it.
        moment = datetime.combine(day, time(0), tz).astimezone(UTC) - timedelta(hours=3)
        end = datetime.combine(day, time(23, 55), tz).astimezone(UTC) + timedelta(hours=3)
        while moment < end:
            local_day = local_date(moment, tz)
            if local_day not in grids:
                grids[local_day] = list(day_candidates(schedules, local_day, tz,
                                                       timedelta(minutes=duration)))
            expected = [c for c in grids[local_day] if c.start == moment]
            if expected:
                assert pick_slot(offer, moment, NOW) == expected
                found += 1
            else:
                with pytest.raises(NotASlot):
                    pick_slot(offer, moment, NOW)
                missed += 1
            moment += timedelta(minutes=5)
    assert found > 20 and missed > 20


def test_pick_slot_says_why() -> None:
    opening = WeeklyOpening(1, "0,1,2,3,4,5,6", time(9), time(12), 15, 1, date(2020, 1, 1), None)
    day = date(2026, 11, 23)
    start = local(day, 9)
    offer = _offer("Europe/Berlin", [opening], 15)
    cases = {  # offer, now, message
        "past": (offer, start + timedelta(minutes=1), "This time is in the past."),
        "soon": (replace(offer, min_notice_minutes=90), start - timedelta(minutes=60),
                 "This time is too soon."),
        "far": (replace(offer, horizon_days=2), start - timedelta(days=3),
                "This date is too far ahead."),
        "offered": (replace(offer, offered=False), NOW,
                    "This service is not offered at this office."),
        "closed": (replace(offer, closed=frozenset({day})), NOW,
                   "The office is closed on this day."),
        "grid": (offer, NOW, "This time is not a bookable slot for this service."),
    }
    for key, (this_offer, now, message) in cases.items():
        with pytest.raises(NotASlot) as exc:
            pick_slot(this_offer, start + timedelta(minutes=5) if key == "grid" else start, now)
        assert exc.value.msgid.startswith(message), key
    assert [c.start for c in pick_slot(offer, start, NOW)] == [start]


# --- against the database (SQLite and PostgreSQL) -------------------------------------------------


def citizen(email: str = "erika@example.com") -> CitizenInput:
    return CitizenInput("Erika", "Mustermann", email)


@pytest.mark.parametrize("tz_name, hour", [("Pacific/Kiritimati", 9), ("Pacific/Pago_Pago", 20)])
async def test_closures_are_read_for_the_office_s_local_day(
    db: Database, links: LinkKeys, tz_name: str, hour: int
) -> None:
    """UTC+14 and UTC-11: the local day of the slot is not its UTC date."""
    w = await world(db, office={"timezone": tz_name}, start=time(8), end=time(22))
    day = date(2026, 6, 3)
    start = local(day, hour, tz=ZoneInfo(tz_name))
    assert start.date() != day
    await add_closure(db, w.office, start.date())  # the UTC date: not a closure of this slot
    async with db.transaction() as session:
        offer = await load_slot_offer(session, office_id=w.office_id, service_id=w.service_id,
                                      start=start)
        assert offer.timezone == tz_name and offer.offered and len(offer.openings) == 1
        assert [c.start for c in pick_slot(offer, start, NOW)] == [start]
    await add_closure(db, w.office, day)
    async with db.transaction(write=True) as session:
        with pytest.raises(NotASlot) as exc:
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=start, citizen=citizen(), locale="de", now=NOW)
    assert exc.value.msgid == "The office is closed on this day."
    assert await appointments(db) == []


async def test_unknown_office_comes_first_then_the_service(db: Database) -> None:
    w = await world(db, service={"active": False})
    start = local(date(2026, 11, 23), 9)
    async with db.transaction() as session:
        with pytest.raises(NotFound) as exc:
            await load_slot_offer(session, office_id=4242, service_id=4242, start=start)
        assert exc.value.msgid == "This office does not exist."
        for service_id in (4242, w.service_id):  # unknown, inactive
            with pytest.raises(NotFound) as exc:
                await load_slot_offer(session, office_id=w.office_id, service_id=service_id,
                                      start=start)
            assert exc.value.msgid == "This service does not exist."


async def test_a_service_not_offered_by_video_is_not_bookable(
    db: Database, links: LinkKeys
) -> None:
    """``booking.catalog.BOOKABLE`` decides for the booking as for the listings: a service not
    offered by video is refused like an unknown one, when booking and when moving."""
    w = await world(db)
    day = date(2026, 11, 23)
    async with db.transaction(write=True) as session:
        booked = await book(session, links, POLICY, service_id=w.service_id,
                            office_id=w.office_id, start=local(day, 9), citizen=citizen(),
                            locale="de", now=NOW)
    async with db.transaction(write=True) as session:
        service = await session.get(Service, w.service_id)
        assert service is not None
        service.video = False
    async with db.transaction(write=True) as session:
        with pytest.raises(NotFound) as exc:
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(day, 10), citizen=citizen(), locale="de", now=NOW)
        assert exc.value.msgid == "This service does not exist."
        appointment = await session.get(Appointment, booked.appointment.id)
        assert appointment is not None
        with pytest.raises(NotFound):
            await reschedule(session, POLICY, appointment, local(day, 10), now=NOW)
    [only] = await appointments(db)
    assert only.start_at == local(day, 9)


async def test_a_reference_in_use_is_drawn_again(
    db: Database, links: LinkKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await world(db)
    day = date(2026, 11, 23)
    async with db.transaction(write=True) as session:
        first = await book(session, links, POLICY, service_id=w.service_id,
                           office_id=w.office_id, start=local(day, 9), citizen=citizen(),
                           locale="de", now=NOW)
    drawn = iter([first.appointment.reference, first.appointment.reference, "BB-ZZZZ-9999"])
    monkeypatch.setattr(service_module, "new_reference", lambda: next(drawn))
    async with db.transaction(write=True) as session:
        second = await book(session, links, POLICY, service_id=w.service_id,
                            office_id=w.office_id, start=local(day, 10),
                            citizen=citizen("max@example.com"), locale="de", now=NOW)
    assert second.appointment.reference == "BB-ZZZZ-9999"
    rows = await appointments(db)
    assert [(a.reference, a.ics_uid, a.email) for a in rows] == [
        (first.appointment.reference, f"{first.appointment.reference}@buergerbuero",
         "erika@example.com"),
        ("BB-ZZZZ-9999", "BB-ZZZZ-9999@buergerbuero", "max@example.com"),
    ]
    monkeypatch.setattr(service_module, "new_reference", lambda: "BB-ZZZZ-9999")
    async with db.transaction(write=True) as session:
        with pytest.raises(RuntimeError):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(day, 11), citizen=citizen("eva@example.com"), locale="de",
                       now=NOW)
    assert len(await appointments(db)) == 2


async def test_the_second_schedule_s_seat_is_recorded(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    second = await add_schedule(db, w.office, [w.service])
    day = date(2026, 11, 23)
    for email in ("a@example.com", "b@example.com"):
        async with db.transaction(write=True) as session:
            booked = await book(session, links, POLICY, service_id=w.service_id,
                                office_id=w.office_id, start=local(day, 9),
                                citizen=citizen(email), locale="de", now=NOW)
    assert booked.appointment.schedule_id == second.id
    rows = await appointments(db)
    assert [a.schedule_id for a in rows] == [w.schedule.id, second.id]
    assert sorted((s.schedule_id, s.appointment_id) for s in await seats(db)) == [
        (w.schedule.id, rows[0].id), (second.id, rows[1].id)]


async def test_the_booked_appointment_is_in_the_session_as_written(
    db: Database, links: LinkKeys
) -> None:
    w = await world(db)
    start = local(date(2026, 11, 23), 9)
    async with db.transaction(write=True) as session:
        booked = await book(session, links, POLICY, service_id=w.service_id,
                            office_id=w.office_id, start=start, citizen=citizen(), locale="en",
                            now=NOW)
        appointment = booked.appointment
        assert await session.get(Appointment, appointment.id) is appointment
        loaded = (await session.execute(
            select(Appointment).where(Appointment.id == appointment.id)  # type: ignore[arg-type]
        )).scalar_one()
        assert loaded is appointment and loaded.status == "reserved" and loaded.locale == "en"
        await cancel(session, appointment, Actor.citizen(), now=NOW)  # locks and updates it
        assert (await session.execute(select(SlotSeat))).all() == []
        events = (await session.execute(select(AuditEvent.action))).scalars().all()  # type: ignore[call-overload]
        assert sorted(events) == ["appointment.book", "appointment.cancel"]
    [row] = await appointments(db)
    assert (row.status, row.ics_sequence, row.start_at) == ("cancelled", 1, start)
    assert booked.office_timezone == "Europe/Berlin"
