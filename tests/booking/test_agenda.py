"""The agenda's day: the office's local midnight to the next, in UTC (``booking.agenda``), and
the office's today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from booking.agenda import day_bounds
from booking.availability import office_today
from booking.models import Office


@pytest.mark.parametrize(
    ("day", "start", "hours"),
    [
        (date(2026, 3, 28), datetime(2026, 3, 27, 23, tzinfo=UTC), 24),
        (date(2026, 3, 29), datetime(2026, 3, 28, 23, tzinfo=UTC), 23),  # 02:00 → 03:00
        (date(2026, 10, 25), datetime(2026, 10, 24, 22, tzinfo=UTC), 25),  # 03:00 → 02:00
        (date(2026, 10, 26), datetime(2026, 10, 25, 23, tzinfo=UTC), 24),
    ],
)
def test_day_bounds_in_berlin(day: date, start: datetime, hours: int) -> None:
    office = Office(name="Bürgerbüro", timezone="Europe/Berlin")
    low, high = day_bounds(office, day)
    assert (low, high - low) == (start, timedelta(hours=hours))
    assert low.tzinfo is UTC and high.tzinfo is UTC


def test_today_is_the_offices_date() -> None:
    now = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert office_today(Office(name="Berlin", timezone="Europe/Berlin"), now) == date(2026, 3, 29)
    assert office_today(Office(name="Kiel", timezone="UTC"), now) == date(2026, 3, 28)
