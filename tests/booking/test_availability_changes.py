"""What may change an availability answer: the offices a commit reports
(booking/availability_changes.py), and the instant time alone changes it (``Window.changes_at``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from app.db import Database
from booking import availability_changes
from booking.availability_changes import Offices
from booking.availability_window import window_availability
from booking.links import LinkKeys
from booking.models import Appointment, Office, SlotSeat
from booking.service import BookingPolicy, CitizenInput, book, cancel, expire_holds
from core.audit import Actor
from tests.booking.factories import (
    World,
    add_closure,
    add_office,
    add_schedule,
    add_service,
    local,
    world,
)

DAY = date(2026, 11, 23)  # a Monday
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def reported(db: Database) -> Iterator[list[Offices]]:
    """What commits to the test's database report, in order."""
    seen: list[Offices] = []
    unsubscribe = availability_changes.subscribe(db.engine.url, seen.append)
    yield seen
    unsubscribe()


async def do_book(db: Database, links: LinkKeys, w: World, start: datetime, *,
                  hold: bool = False, email: str = "erika@example.com",
                  now: datetime = NOW) -> Appointment:
    async with db.transaction(write=True) as session:
        booked = await book(session, links, BookingPolicy(require_confirmation=hold),
                            service_id=w.service_id, office_id=w.office_id, start=start,
                            citizen=CitizenInput("Erika", "Mustermann", email), locale="de",
                            now=now)
        return booked.appointment


# --- commits and the offices they report ----------------------------------------------------------


async def test_booking_and_cancelling_report_their_office(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    w = await world(db)
    other = await world(db, office={"name": "Zweigstelle"})
    reported.clear()
    appointment = await do_book(db, links, w, local(DAY, 9))
    assert reported == [frozenset({w.office_id})]
    async with db.transaction(write=True) as session:
        loaded = await session.get(Appointment, appointment.id)
        assert loaded is not None
        await cancel(session, loaded, Actor.citizen(), now=NOW)
    assert reported[1:] == [frozenset({w.office_id})]
    assert other.office_id not in reported[0] | reported[1]


async def test_a_booking_frees_nothing_a_cancellation_does(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    """The waitlist listens only for freed places: new bookings (the 07:00 rush) do not wake it."""
    w = await world(db)
    freed: list[Offices] = []
    unsubscribe = availability_changes.subscribe(db.engine.url, freed.append, freeing_only=True)
    try:
        reported.clear()
        first = await do_book(db, links, w, local(DAY, 9))
        await do_book(db, links, w, local(DAY, 9, 15), email="max@example.com")
        assert len(reported) == 2 and freed == []
        async with db.transaction(write=True) as session:
            loaded = await session.get(Appointment, first.id)
            assert loaded is not None
            await cancel(session, loaded, Actor.citizen(), now=NOW)
        assert freed == [frozenset({w.office_id})] == reported[2:]
        # A hold that lapses frees its place too.
        held = await do_book(db, links, w, local(DAY, 10), hold=True, email="hold@example.com")
        assert len(freed) == 1
        async with db.transaction(write=True) as session:
            await expire_holds(session, now=held.hold_expires_at + timedelta(seconds=1))
        assert len(freed) == 2
        # A statement on the seats, naming no office, may free any office's places.
        async with db.transaction(write=True) as session:
            await session.execute(update(SlotSeat).values(capacity=SlotSeat.capacity))
        assert freed[-1] is None
    finally:
        unsubscribe()


async def test_reads_and_unrelated_writes_report_nothing(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    w = await world(db)
    appointment = await do_book(db, links, w, local(DAY, 9))
    reported.clear()
    async with db.transaction() as session:
        await session.execute(select(SlotSeat))
    async with db.transaction(write=True) as session:
        loaded = await session.get(Appointment, appointment.id)
        assert loaded is not None
        loaded.given_name = "Erika Maria"  # no field availability depends on
    assert reported == []


async def test_a_rolled_back_transaction_reports_nothing(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    w = await world(db)
    reported.clear()
    with pytest.raises(RuntimeError):
        async with db.transaction(write=True) as session:
            async with session.begin_nested():  # a released savepoint is not a commit
                await book(session, links, BookingPolicy(), service_id=w.service_id,
                           office_id=w.office_id, start=local(DAY, 9),
                           citizen=CitizenInput("Erika", "Mustermann", "e@example.com"),
                           locale="de", now=NOW)
            raise RuntimeError("abort")
    assert reported == []


async def test_statements_and_shared_changes_report_every_office(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    w = await world(db, capacity=2)
    await do_book(db, links, w, local(DAY, 9), hold=True)
    reported.clear()
    # A bulk statement: which offices it touched is not known.
    async with db.transaction(write=True) as session:
        await session.execute(update(Appointment).values(locale="en"))
    # Hold expiry runs as such a statement too.
    async with db.transaction(write=True) as session:
        assert await expire_holds(session, now=NOW + timedelta(hours=1)) == 1
    await add_closure(db, None, DAY)  # a closure for every office
    await add_closure(db, w.office, DAY + timedelta(days=1))
    await add_schedule(db, w.office, [w.service], start=time(14), end=time(15))
    assert reported == [None, None, None, frozenset({w.office_id}), frozenset({w.office_id})]


async def test_moving_an_appointment_between_offices_reports_both(
    db: Database, links: LinkKeys, reported: list[Offices]
) -> None:
    w = await world(db)
    other = await add_office(db, name="Zweigstelle")
    appointment = await do_book(db, links, w, local(DAY, 9))
    reported.clear()
    async with db.transaction(write=True) as session:
        loaded = await session.get(Appointment, appointment.id)
        assert loaded is not None
        loaded.office_id = other.id or 0
    assert reported == [frozenset({w.office_id, other.id})]


async def test_another_database_is_not_reported(
    db: Database, reported: list[Offices]
) -> None:
    w = await world(db)
    reported.clear()
    assert availability_changes.database_key(db.engine.url) == availability_changes.database_key(
        db.url)
    seen_elsewhere: list[Offices] = []
    unsubscribe = availability_changes.subscribe("sqlite+aiosqlite:////nonexistent/other.db",
                                                 seen_elsewhere.append)
    try:
        async with db.transaction(write=True) as session:
            office = await session.get(Office, w.office_id)
            assert office is not None
            office.min_notice_minutes = 30
    finally:
        unsubscribe()
    assert reported == [frozenset({w.office_id})]
    assert seen_elsewhere == []


# --- time alone: Window.changes_at ---------------------------------------------------------------


async def window_at(db: Database, w: World, now: datetime) -> tuple[list[datetime], datetime]:
    async with db.transaction() as session:
        found = await window_availability(session, service_id=w.service_id,
                                          office_id=w.office_id, start=DAY,
                                          end=DAY + timedelta(days=1), now=now)
    return [s.start for s in found.slots], found.changes_at


async def test_changes_at_is_when_the_first_slot_becomes_too_soon(db: Database) -> None:
    w = await world(db, office={"min_notice_minutes": 60})
    now = local(DAY, 9, 20)  # earliest start 10:20: the first slot is 10:30
    slots, changes_at = await window_at(db, w, now)
    assert slots[0] == local(DAY, 10, 30)
    assert changes_at == local(DAY, 9, 30)
    # The answer holds before that instant (10:30 is offered up to 09:30 itself), not after.
    assert (await window_at(db, w, changes_at - timedelta(microseconds=1)))[0] == slots
    assert (await window_at(db, w, changes_at + timedelta(microseconds=1)))[0] == slots[1:]


async def test_changes_at_is_the_next_local_midnight_when_the_horizon_moves(
    db: Database,
) -> None:
    w = await world(db, office={"horizon_days": 0})  # bookable: today only
    now = local(DAY, 11, 50)  # today's last slot (11:45) has begun
    slots, changes_at = await window_at(db, w, now)
    assert slots == []
    assert changes_at == local(DAY + timedelta(days=1), 0)
    assert (await window_at(db, w, changes_at - timedelta(microseconds=1)))[0] == []
    tomorrow = (await window_at(db, w, changes_at))[0]
    assert tomorrow[0] == local(DAY + timedelta(days=1), 9) and len(tomorrow) == 12


async def test_changes_at_is_when_a_hold_runs_out(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    held = await do_book(db, links, w, local(DAY, 10), hold=True, now=local(DAY, 5))
    assert held.hold_expires_at is not None
    now = local(DAY, 5, 1)
    slots, changes_at = await window_at(db, w, now)
    assert changes_at == held.hold_expires_at
    assert local(DAY, 10) not in slots
    assert local(DAY, 10) in (await window_at(db, w, changes_at))[0]


async def test_changes_at_midnight_is_the_office_s_midnight(db: Database) -> None:
    office = await add_office(db, timezone="America/New_York")
    service = await add_service(db, [office])
    schedule = await add_schedule(db, office, [service], weekdays="5,6")  # weekends only
    w = World(office, service, schedule)
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
    slots, changes_at = await window_at(db, w, now)
    assert slots == []
    assert changes_at == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday 00:00 there
