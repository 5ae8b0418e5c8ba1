"""Column types shared by every model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on every backend.

    SQLite has no time zone type, so values are stored naive (UTC) there and made aware again
    when read. A naive datetime is a programming error and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Clock:
    """The one clock the services read (``utcnow``). Tests shift it (``shift``) to put "now" at
    a chosen time of day instead of depending on when they run; production never shifts it."""

    offset: timedelta = timedelta(0)

    @classmethod
    def shift(cls, offset: timedelta) -> None:
        cls.offset = offset


def utcnow() -> datetime:
    return datetime.now(UTC) + Clock.offset


def utc_seconds() -> float:
    """``utcnow`` as a POSIX timestamp, for parts that keep deadlines as numbers (room leases,
    the availability cache) and compare them with instants of the same clock."""
    return utcnow().timestamp()


# Every day a person or an office can mean. Outside, a date is a typing error or a probe, and
# date arithmetic (time zones, a day's end, "+ 1 day") at the ends of the calendar overflows.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def within_calendar(day: date) -> date:
    """``day`` if it lies within ``EARLIEST_DAY``..``LATEST_DAY``; ValueError otherwise."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"a date between {EARLIEST_DAY.isoformat()} and "
                         f"{LATEST_DAY.isoformat()}")
    return day


def parse_day(text: str) -> date:
    """A calendar day written YYYY-MM-DD, within ``EARLIEST_DAY``..``LATEST_DAY``; ValueError
    otherwise (the one parser of dates that clients send)."""
    if len(text) != 10:
        raise ValueError("expected a date as YYYY-MM-DD")
    return within_calendar(date.fromisoformat(text))
