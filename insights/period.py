"""The period asked for: one office and its first and last day, in the office's time zone.

Bad input is the asker's mistake and is answered 400 (a day that is no date, the last day
before the first, a period longer than the installation allows) or 404 (an office that does
not exist or is not the asker's), with a message in their language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office
from core.errors import DomainError, NotFound
from core.types import parse_day


class BadPeriod(DomainError):
    status = 400
    code = "bad_period"
    message = "The period is not valid."


class UnknownOffice(NotFound):
    code = "unknown_office"
    message = "There is no such office."


@dataclass(frozen=True)
class Period:
    office_id: int
    office_name: str
    timezone: str
    first: dt.date  # the first day, in the office's zone
    last: dt.date  # the last day (included)

    @property
    def start(self) -> dt.datetime:
        """The first day's start, in UTC."""
        return _midnight(self.first, self.timezone)

    @property
    def end(self) -> dt.datetime:
        """The start of the day after the last one, in UTC (excluded)."""
        return _midnight(self.last + dt.timedelta(days=1), self.timezone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _midnight(day: dt.date, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).astimezone(dt.UTC)


def read_day(text: str | None, field: str) -> dt.date | None:
    """``YYYY-MM-DD`` or nothing; anything else is a ``BadPeriod`` for ``field``."""
    if text is None or text.strip() == "":
        return None
    try:
        return parse_day(text.strip())
    except ValueError as exc:
        raise BadPeriod("Enter the date as YYYY-MM-DD, for example 2026-01-31.",
                        field=field) from exc


def read_office_id(text: str | None) -> int | None:
    if text is None or text.strip() == "":
        return None
    value = text.strip()
    if not value.isdigit() or len(value) > 9:
        raise UnknownOffice(field="office_id")
    return int(value)


async def resolve(session: AsyncSession, visible: Sequence[int], *, office_id: int | None,
                  first: dt.date | None, last: dt.date | None, max_days: int,
                  today: dt.datetime) -> Period:
    """The period for ``office_id`` (default: the first office the asker sees) from ``first``
    to ``last`` (default: the office's current year up to today)."""
    chosen = office_id if office_id is not None else (min(visible) if visible else None)
    office = await session.get(Office, chosen) if chosen in visible else None
    if office is None or office.id is None:
        raise UnknownOffice(field="office_id")
    local_today = today.astimezone(ZoneInfo(office.timezone)).date()
    last = last or max(local_today, first or local_today)
    first = first or min(dt.date(last.year, 1, 1), last)
    if last < first:
        raise BadPeriod("The last day must not be before the first day.", field="to")
    if (last - first).days + 1 > max_days:
        raise BadPeriod("The period may span at most %(days)s days.", field="to", days=max_days)
    return Period(office.id, office.name, office.timezone, first, last)


async def office_choices(session: AsyncSession, visible: Sequence[int]) -> list[tuple[int, str]]:
    rows = await session.execute(select(col(Office.id), col(Office.name))
                                 .where(col(Office.id).in_(list(visible)))
                                 .order_by(col(Office.name)))
    return [(int(i), str(n)) for i, n in rows.all() if i is not None]
