"""Release times (``booking/release.py``): a day's slots are listed and bookable only from their
release moment, office wall-clock time, on changeover days too; and the availability says when
its answer changes because of one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update

from app.db import Database
from booking.availability import free_slots
from booking.availability_window import window_availability
from booking.links import LinkKeys
from booking.models import Appointment, Schedule
from booking.release import NOT_RELEASED_UNTIL, NotReleased, next_release
from booking.service import BookingPolicy, CitizenInput, book, reschedule
from core.proof_of_work import ProofExpired, ProofInvalid, ProofRequired, ProofReused
from tests.booking.factories import BERLIN, World, appointments, local, world

ROOT = Path(__file__).resolve().parents[2]
POLICY = BookingPolicy(require_confirmation=False)


async def releasing(db: Database, w: World, at: time | None = time(7), ahead: int | None = 21,
                    ) -> None:
    async with db.transaction(write=True) as session:
        await session.execute(update(Schedule).where(
            Schedule.id == w.schedule.id).values(  # type: ignore[arg-type]
            release_time=at, release_days_ahead=ahead))


async def listed_days(db: Database, w: World, first: date, last: date, now: datetime,
                      ) -> set[date]:
    async with db.transaction() as session:
        slots = await free_slots(session, service_id=w.service_id, office_id=w.office_id,
                                 start_date=first, end_date=last, now=now)
    return {s.start.astimezone(BERLIN).date() for s in slots}


async def book_at(db: Database, links: LinkKeys, w: World, start: datetime, now: datetime,
                  email: str = "erika@example.com") -> str:
    async with db.transaction(write=True) as session:
        booked = await book(session, links, POLICY, service_id=w.service_id,
                            office_id=w.office_id, start=start, locale="de", now=now,
                            citizen=CitizenInput("Erika", "Mustermann", email))
        return booked.appointment.reference


async def test_the_day_three_weeks_ahead_opens_at_seven(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    await releasing(db, w)
    today = date(2026, 12, 7)
    opening = today + timedelta(days=21)
    before, at = local(today, 6, 59), local(today, 7)

    days = await listed_days(db, w, today, opening + timedelta(days=3), before)
    assert max(days) == opening - timedelta(days=1) and opening not in days
    with pytest.raises(NotReleased) as refused:
        await book_at(db, links, w, local(opening, 9), before)
    assert refused.value.status == 409 and refused.value.code == "not_released"
    assert refused.value.params == {"date": today.isoformat(), "time": "07:00"}
    assert await appointments(db) == []

    days = await listed_days(db, w, today, opening + timedelta(days=3), at)
    assert max(days) == opening  # and not a day more
    reference = await book_at(db, links, w, local(opening, 9), at)
    assert [a.reference for a in await appointments(db)] == [reference]


async def test_a_move_to_a_day_not_yet_released_is_refused(db: Database,
                                                          links: LinkKeys) -> None:
    w = await world(db)
    await releasing(db, w)
    today = date(2026, 12, 7)
    now = local(today, 6, 59)
    await book_at(db, links, w, local(today + timedelta(days=2), 9), now)
    async with db.transaction(write=True) as session:
        appointment = await session.get(Appointment, (await appointments(db))[0].id)
        assert appointment is not None
        with pytest.raises(NotReleased):
            await reschedule(session, POLICY, appointment, local(today + timedelta(days=21), 9),
                             now=now)


async def test_without_a_release_rule_the_horizon_alone_counts(db: Database) -> None:
    w = await world(db, office={"horizon_days": 30})
    today = date(2026, 12, 7)
    days = await listed_days(db, w, today, today + timedelta(days=40), local(today, 6))
    assert max(days) == today + timedelta(days=30)


async def test_release_on_the_spring_changeover_is_office_time(db: Database,
                                                               links: LinkKeys) -> None:
    """On 28 March 2027 Berlin moves from +01:00 to +02:00 at 02:00: 07:00 is 05:00 UTC that
    morning (06:00 UTC the day before), and a release at 02:30, a wall time that does not exist,
    happens when the clocks jump (01:00 UTC)."""
    w = await world(db)
    await releasing(db, w)
    changeover = date(2027, 3, 28)
    opening = changeover + timedelta(days=21)
    assert local(changeover, 7) == datetime(2027, 3, 28, 5, tzinfo=UTC)
    just_before = datetime(2027, 3, 28, 4, 59, 59, tzinfo=UTC)
    assert opening not in await listed_days(db, w, opening, opening, just_before)
    with pytest.raises(NotReleased):
        await book_at(db, links, w, local(opening, 9), just_before)
    assert opening in await listed_days(db, w, opening, opening,
                                        datetime(2027, 3, 28, 5, tzinfo=UTC))

    await releasing(db, w, at=time(2, 30))
    jump = datetime(2027, 3, 28, 1, tzinfo=UTC)  # 02:00 +01:00 = 03:00 +02:00
    assert opening not in await listed_days(db, w, opening, opening, jump - timedelta(seconds=1))
    assert opening in await listed_days(db, w, opening, opening, jump)
    await book_at(db, links, w, local(opening, 9), jump)


async def test_release_in_the_repeated_autumn_hour_is_its_first_occurrence(db: Database) -> None:
    """On 31 October 2027 02:00–03:00 happens twice in Berlin: 02:30 releases at 00:30 UTC."""
    w = await world(db)
    await releasing(db, w, at=time(2, 30), ahead=7)
    changeover = date(2027, 10, 31)
    opening = changeover + timedelta(days=7)
    first = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert opening not in await listed_days(db, w, opening, opening, first - timedelta(seconds=1))
    assert opening in await listed_days(db, w, opening, opening, first)


async def test_the_answer_changes_at_the_next_release(db: Database) -> None:
    w = await world(db)
    await releasing(db, w)
    today = date(2026, 12, 7)
    async with db.transaction() as session:
        window = await window_availability(
            session, service_id=w.service_id, office_id=w.office_id, start=today,
            end=today + timedelta(days=30), now=local(today, 6, 59))
    # Before the opening of today's first slot (09:00) and before midnight: the release.
    assert window.changes_at == local(today, 7)
    assert next_release([time(7)], local(today, 7), BERLIN) == local(today + timedelta(days=1), 7)
    assert next_release([], local(today, 7), BERLIN) is None



@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_catalogues_translate_every_message_with_its_placeholders(lang: str) -> None:
    """Every message of release times and the proof of work, in both catalogues, with the same
    placeholders as its id (a lost ``%(time)s`` would break the message at run time)."""
    placeholder = re.compile(r"%\((\w+)\)s")
    path = ROOT / f"core/locales/{lang}/LC_MESSAGES/release.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    ids = {m.id for m in catalog if m.id}
    assert {NotReleased.message, NOT_RELEASED_UNTIL, ProofInvalid.message,
            ProofExpired.message, ProofReused.message, ProofRequired.message} <= ids
    for message in catalog:
        if not message.id:
            continue
        assert isinstance(message.id, str) and isinstance(message.string, str)
        assert message.string, f"untranslated: {message.id}"
        assert sorted(placeholder.findall(message.id)) == sorted(
            placeholder.findall(message.string)), message.id
