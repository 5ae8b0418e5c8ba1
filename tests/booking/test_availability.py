"""Free slots: grid, time zones and DST, closures, notice, horizon, capacity, validity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.db import Database
from booking.availability import free_days, free_slots, wall_to_utc
from booking.links import LinkKeys
from booking.service import BookingPolicy, CitizenInput, book
from core.errors import NotFound
from tests.booking.factories import (
    BERLIN,
    add_closure,
    add_office,
    add_schedule,
    add_service,
    local,
    world,
)

MONDAY = date(2026, 11, 23)
BEFORE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # "now" for most tests: well before MONDAY
SPRING = date(2026, 3, 29)  # Europe/Berlin: 02:00 CET → 03:00 CEST
AUTUMN = date(2026, 10, 25)  # Europe/Berlin: 03:00 CEST → 02:00 CET


async def slots_on(db: Database, w, day: date, now: datetime = BEFORE, service=None):
    async with db.transaction() as session:
        return await free_slots(
            session, service_id=(service or w.service).id, office_id=w.office_id,
            start_date=day, end_date=day, now=now,
        )


def walls(slots) -> list[str]:
    return [s.start.astimezone(BERLIN).strftime("%H:%M%z") for s in slots]


async def test_grid_of_an_ordinary_day_in_winter_and_summer(db: Database) -> None:
    w = await world(db)
    winter = await slots_on(db, w, MONDAY)
    assert len(winter) == 12
    assert winter[0].start == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert winter[-1].start == datetime(2026, 11, 23, 10, 45, tzinfo=UTC)
    assert all(s.end - s.start == timedelta(minutes=15) for s in winter)
    summer = await slots_on(db, w, date(2026, 7, 6), now=datetime(2026, 7, 1, tzinfo=UTC))
    assert summer[0].start == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)


async def test_spring_forward_skips_the_missing_hour(db: Database) -> None:
    w = await world(db, start=time(1), end=time(4))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    slots = await slots_on(db, w, SPRING, now=now)
    assert walls(slots) == [
        "01:00+0100", "01:15+0100", "01:30+0100", "01:45+0100",
        "03:00+0200", "03:15+0200", "03:30+0200", "03:45+0200",
    ]
    assert [s.start for s in slots] == [
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(8)
    ]
    assert all(s.end - s.start == timedelta(minutes=15) for s in slots)
    # An ordinary opening on that day has the new offset.
    w2 = await world(db, office={"name": "Zwei"})
    day_slots = await slots_on(db, w2, SPRING, now=now)
    assert day_slots[0].start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    before = await slots_on(db, w2, date(2026, 3, 28), now=now)
    assert before[0].start == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


async def test_spring_forward_long_service_spans_the_jump_in_real_time(db: Database) -> None:
    w = await world(db, start=time(1), end=time(4), service={"duration_minutes": 30})
    slots = await slots_on(db, w, SPRING, now=datetime(2026, 3, 1, tzinfo=UTC))
    # Two real hours (00:00Z–02:00Z): 30-minute slots start every 15 minutes up to 01:30Z.
    assert len(slots) == 7
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    last = slots[-1]
    assert last.start.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert last.end.astimezone(BERLIN).strftime("%H:%M") == "04:00"
    spanning = slots[3]  # 01:45 CET + 30 real minutes = 03:15 CEST
    assert spanning.start.astimezone(BERLIN).strftime("%H:%M") == "01:45"
    assert spanning.end.astimezone(BERLIN).strftime("%H:%M") == "03:15"


async def test_fall_back_offers_the_repeated_hour_once_per_real_instant(db: Database) -> None:
    w = await world(db, start=time(1), end=time(4))
    slots = await slots_on(db, w, AUTUMN, now=datetime(2026, 10, 1, tzinfo=UTC))
    # 01:00 CEST (23:00Z) to 04:00 CET (03:00Z): four real hours.
    assert len(slots) == 16
    starts = [s.start for s in slots]
    assert len(set(starts)) == 16
    assert starts == [datetime(2026, 10, 24, 23, 0, tzinfo=UTC) + timedelta(minutes=15 * i)
                      for i in range(16)]
    assert walls(slots) == [
        "01:00+0200", "01:15+0200", "01:30+0200", "01:45+0200",
        "02:00+0200", "02:15+0200", "02:30+0200", "02:45+0200",
        "02:00+0100", "02:15+0100", "02:30+0100", "02:45+0100",
        "03:00+0100", "03:15+0100", "03:30+0100", "03:45+0100",
    ]
    assert all(s.end - s.start == timedelta(minutes=15) for s in slots)
    # An ordinary opening on that day has the winter offset again.
    w2 = await world(db, office={"name": "Zwei"})
    day_slots = await slots_on(db, w2, AUTUMN, now=datetime(2026, 10, 1, tzinfo=UTC))
    assert day_slots[0].start == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


async def test_fall_back_seats_are_distinct_for_the_two_repeated_hours(
    db: Database, links: LinkKeys
) -> None:
    w = await world(db, start=time(1), end=time(4))
    now = datetime(2026, 10, 1, tzinfo=UTC)
    first = local(AUTUMN, 2, 15, fold=0)
    second = local(AUTUMN, 2, 15, fold=1)
    assert second - first == timedelta(hours=1)
    for i, start in enumerate((first, second)):
        async with db.transaction(write=True) as session:
            await book(session, links, BookingPolicy(), service_id=w.service_id,
                       office_id=w.office_id, start=start, locale="de", now=now,
                       citizen=CitizenInput("A", "B", f"p{i}@example.com"))
    slots = await slots_on(db, w, AUTUMN, now=now)
    assert len(slots) == 14
    assert first not in {s.start for s in slots} and second not in {s.start for s in slots}


def test_wall_to_utc_for_missing_and_repeated_times() -> None:
    # 02:30 does not exist on the spring day: the opening starts when the clocks jump.
    assert wall_to_utc(SPRING, time(2, 30), BERLIN) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # 02:30 happens twice in autumn: the first occurrence.
    assert wall_to_utc(AUTUMN, time(2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert wall_to_utc(MONDAY, time(9), BERLIN) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_schedule_starting_inside_the_missing_hour(db: Database) -> None:
    w = await world(db, start=time(2, 30), end=time(4))
    slots = await slots_on(db, w, SPRING, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert walls(slots)[0] == "03:00+0200"
    assert len(slots) == 4


async def test_other_time_zone(db: Database) -> None:
    w = await world(db, office={"timezone": "America/New_York"})
    slots = await slots_on(db, w, MONDAY)
    assert slots[0].start == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


async def test_office_and_global_closures(db: Database) -> None:
    w = await world(db)
    other = await add_office(db, name="Andere")
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    await add_closure(db, w.office, MONDAY, "Betriebsausflug")
    await add_closure(db, None, tuesday, "Feiertag")
    await add_closure(db, other, wednesday, "not ours")
    assert await slots_on(db, w, MONDAY) == []
    assert await slots_on(db, w, tuesday) == []
    assert len(await slots_on(db, w, wednesday)) == 12
    async with db.transaction() as session:
        found = await free_days(session, service_id=w.service_id, office_id=w.office_id,
                                start_date=MONDAY, end_date=MONDAY + timedelta(days=3),
                                now=BEFORE)
    assert found == [wednesday, MONDAY + timedelta(days=3)]


async def test_minimum_notice(db: Database) -> None:
    w = await world(db, office={"min_notice_minutes": 60})
    now = local(MONDAY, 9, 20)
    slots = await slots_on(db, w, MONDAY, now=now)
    assert walls(slots)[0] == "10:30+0100"  # 10:20 is the earliest; the grid's next is 10:30
    # Exactly on the boundary counts.
    slots = await slots_on(db, w, MONDAY, now=local(MONDAY, 9, 30))
    assert walls(slots)[0] == "10:30+0100"


async def test_horizon(db: Database) -> None:
    w = await world(db, office={"horizon_days": 2})
    now = local(MONDAY, 8)
    async with db.transaction() as session:
        found = await free_days(session, service_id=w.service_id, office_id=w.office_id,
                                start_date=MONDAY, end_date=MONDAY + timedelta(days=10), now=now)
    assert found == [MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)]


async def test_past_days_have_no_slots(db: Database) -> None:
    w = await world(db)
    assert await slots_on(db, w, MONDAY, now=local(MONDAY + timedelta(days=1), 8)) == []
    # Later the same day: only what is still ahead.
    assert walls(await slots_on(db, w, MONDAY, now=local(MONDAY, 11, 10)))[0] == "11:15+0100"


async def test_weekdays_and_validity_range(db: Database) -> None:
    w = await world(db, weekdays="0,2", valid_from=MONDAY, valid_until=MONDAY + timedelta(days=8))
    async with db.transaction() as session:
        found = await free_days(session, service_id=w.service_id, office_id=w.office_id,
                                start_date=MONDAY - timedelta(days=7),
                                end_date=MONDAY + timedelta(days=14), now=BEFORE)
    assert found == [MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=7)]


async def test_whole_duration_must_fit(db: Database) -> None:
    w = await world(db, service={"duration_minutes": 40})
    slots = await slots_on(db, w, MONDAY)
    assert walls(slots)[-1] == "11:15+0100"  # 11:15 + 40 min = 11:55 ≤ 12:00; 11:30 would not fit
    assert all(s.end - s.start == timedelta(minutes=40) for s in slots)


async def test_capacity_and_multi_unit_services(db: Database, links: LinkKeys) -> None:
    office = await add_office(db)
    short = await add_service(db, [office], name="kurz", duration_minutes=15)
    long_ = await add_service(db, [office], name="lang", duration_minutes=30)
    await add_schedule(db, office, [short, long_], capacity=2)
    w = type("W", (), {"office_id": office.id, "service": short})()

    async def take(service, hour: int, minute: int, n: int) -> None:
        async with db.transaction(write=True) as session:
            await book(session, links, BookingPolicy(max_active_per_email=99),
                       service_id=service.id, office_id=office.id,
                       start=local(MONDAY, hour, minute),
                       citizen=CitizenInput("A", "B", f"x{n}@example.com"), locale="de",
                       now=BEFORE)

    await take(long_, 9, 15, 1)  # covers 09:15 and 09:30
    assert len(await slots_on(db, w, MONDAY)) == 12  # one of two seats left everywhere
    await take(short, 9, 30, 2)  # 09:30 now full
    s = walls(await slots_on(db, w, MONDAY))
    assert "09:30+0100" not in s and "09:15+0100" in s
    long_slots = walls(await slots_on(db, w, MONDAY, service=long_))
    assert "09:15+0100" not in long_slots and "09:30+0100" not in long_slots
    assert "09:00+0100" in long_slots and "09:45+0100" in long_slots
    assert long_slots[-1] == "11:30+0100"


async def test_lapsed_holds_count_as_free(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    async with db.transaction(write=True) as session:
        await book(session, links, BookingPolicy(hold_minutes=15), service_id=w.service_id,
                   office_id=w.office_id, start=local(MONDAY, 9), locale="de", now=BEFORE,
                   citizen=CitizenInput("A", "B", "a@example.com"))
    assert walls(await slots_on(db, w, MONDAY, now=BEFORE))[0] == "09:15+0100"
    later = BEFORE + timedelta(minutes=16)
    assert walls(await slots_on(db, w, MONDAY, now=later))[0] == "09:00+0100"


async def test_overlapping_schedules_give_one_slot_each_time(db: Database) -> None:
    w = await world(db)
    await add_schedule(db, w.office, [w.service], start=time(11), end=time(13))
    slots = await slots_on(db, w, MONDAY)
    assert len(slots) == 16  # 09:00–13:00, 11:00–11:45 only once
    assert len({s.start for s in slots}) == 16


async def test_service_not_offered_inactive_or_unknown(db: Database) -> None:
    w = await world(db)
    other = await add_office(db, name="Andere")
    async with db.transaction() as session:
        assert await free_slots(session, service_id=w.service_id, office_id=other.id,
                                start_date=MONDAY, end_date=MONDAY, now=BEFORE) == []
        with pytest.raises(NotFound):
            await free_slots(session, service_id=w.service_id, office_id=99999,
                             start_date=MONDAY, end_date=MONDAY, now=BEFORE)
        with pytest.raises(NotFound):
            await free_slots(session, service_id=99999, office_id=w.office_id,
                             start_date=MONDAY, end_date=MONDAY, now=BEFORE)
    inactive = await add_service(db, [w.office], name="alt", active=False)
    await add_schedule(db, w.office, [inactive])
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await free_slots(session, service_id=inactive.id, office_id=w.office_id,
                             start_date=MONDAY, end_date=MONDAY, now=BEFORE)
