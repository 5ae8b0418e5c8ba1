"""A waitlist window fits a slot by the office's wall clock: dates inclusive, weekdays, the slot
starting not before ``from_time`` and ending by ``to_time``, also across the DST changeover."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from booking.availability import Slot
from booking.waitlist import WaitlistWish, Window, fitting, pass_on, windows_json
from core.errors import Invalid
from tests.booking.factories import local

BERLIN = "Europe/Berlin"
CHANGEOVER = date(2026, 10, 25)  # a Sunday: 03:00 summer time becomes 02:00 winter time


def slot(day: date, hour: int, minute: int = 0, minutes: int = 15) -> Slot:
    start = local(day, hour, minute)
    return Slot(start, start + timedelta(minutes=minutes))


def fits(window: Window, s: Slot) -> bool:
    return window.fits(s.start, s.end, BERLIN)


def test_dates_weekdays_and_times() -> None:
    window = Window(from_date=date(2026, 10, 19), to_date=date(2026, 10, 25), weekdays=(0, 2),
                    from_time=time(9), to_time=time(10))
    monday, tuesday, wednesday = date(2026, 10, 19), date(2026, 10, 20), date(2026, 10, 21)
    assert fits(window, slot(monday, 9))
    assert fits(window, slot(wednesday, 9, 45))  # ends at 10:00 sharp
    assert not fits(window, slot(wednesday, 9, 50))  # ends 10:05
    assert not fits(window, slot(wednesday, 8, 45))  # starts too early
    assert not fits(window, slot(tuesday, 9))  # not a chosen weekday
    assert not window.fits(*vars(slot(date(2026, 10, 26), 9)).values(), BERLIN)  # after to_date


def test_wall_clock_on_the_changeover_day() -> None:
    window = Window(from_date=CHANGEOVER, to_date=CHANGEOVER, from_time=time(9),
                    to_time=time(9, 30))
    nine = slot(CHANGEOVER, 9)
    assert nine.start.hour == 8  # 09:00 CET is 08:00 UTC after the change
    assert window.fits(nine.start, nine.end, BERLIN)
    assert not window.fits(nine.start - timedelta(hours=1), nine.end - timedelta(hours=1),
                           BERLIN)


def test_passed_slots_are_not_offered_again() -> None:
    day = date(2026, 11, 2)
    wish = WaitlistWish(reference="WL-X", office_id=1, service_id=1, given_name="A",
                        family_name="B", email="a@example.org", email_norm="a@example.org",
                        link_nonce="n", token_hash="h", link_expires_at=local(day, 23),
                        windows=windows_json([Window(from_date=day, to_date=day)]))
    slots = [slot(day, 9), slot(day, 9, 15)]
    assert fitting(wish, slots, BERLIN) == slots
    pass_on(wish, slots[0].start)
    assert fitting(wish, slots, BERLIN) == slots[1:]


def test_windows_that_can_never_fit_are_refused_by_field() -> None:
    from booking.waitlist import check_windows

    today = date(2026, 11, 2)
    with pytest.raises(Invalid) as caught:
        check_windows([Window(from_date=today, to_date=today - timedelta(days=1)),
                       Window(from_date=today, to_date=today, from_time=time(10),
                              to_time=time(10))], today)
    assert [field for field, _, _ in caught.value.problems] == ["windows[0].to_date",
                                                                "windows[1].to_time"]
    check_windows([Window(from_date=today, to_date=today)], today)  # a fitting one passes
