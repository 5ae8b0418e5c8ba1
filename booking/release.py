"""Release times: a schedule's slots of a day become bookable at a fixed local time before it.

A schedule with ``release_time`` (office wall clock, e.g. 07:00) and ``release_days_ahead``
(e.g. 21) releases the slots of day D at ``release_time`` on day D − ``release_days_ahead``, as
many towns do ("every morning at 07:00, the day three weeks ahead"). Before that moment the
availability does not list them and a booking or a move to them is refused (``NotReleased``,
409 ``not_released``, saying when they open). A schedule without ``release_time`` has no such
rule: its slots are bookable as far as the office's booking window (``horizon_days``) reaches.

The moment is wall-clock time in the office's zone, converted like opening hours
(``availability.wall_to_utc``): on a changeover day a release at a wall time that does not exist
happens when the clocks jump, and one in the repeated hour at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.admin_validation import FieldError, hhmm, integer
from booking.availability import Releasing, local_date, plus_days, release_opens_at, wall_to_utc
from booking.models import Schedule, ScheduleService
from core.errors import Conflict
from core.messages import N_

MAX_DAYS_AHEAD = 365


def optional_time(value: object) -> time | None:
    """A release time as HH:MM; empty: no release rule."""
    return None if value is None or value == "" else hhmm(value)


def optional_days_ahead(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # the admin form sends text
    days: int = integer(0, MAX_DAYS_AHEAD)(value)
    return days


# The fields of a schedule's release rule, as the admin API and form take them.
RELEASE_FIELDS = {"release_time": optional_time, "release_days_ahead": optional_days_ahead}


def release_errors(data: Mapping[str, object]) -> list[FieldError]:
    """Rules between the two fields: both or neither."""
    has_time = data.get("release_time") is not None
    has_days = data.get("release_days_ahead") is not None
    if has_time and not has_days:
        return [FieldError("release_days_ahead",
                           "Please enter how many days ahead the slots are released.")]
    if has_days and not has_time:
        return [FieldError("release_time",
                           "Please enter the time of day at which the slots are released.")]
    return []


class NotReleased(Conflict):
    code = "not_released"
    message = "The appointments of this day are not released yet."


NOT_RELEASED_UNTIL = N_(
    "The appointments of this day are not released yet. They open on %(date)s at %(time)s "
    "(office time).")


def refuse(schedule: Releasing, day: date, tz: ZoneInfo) -> NotReleased:
    """The error for a slot of ``day`` that is not released yet, saying when it opens."""
    moment = release_opens_at(schedule, day, tz)
    assert moment is not None
    local = moment.astimezone(tz)
    return NotReleased(NOT_RELEASED_UNTIL, date=local.date().isoformat(),
                       time=local.strftime("%H:%M"))


def next_release(times: Iterable[time], now: datetime, tz: ZoneInfo) -> datetime | None:
    """The first release moment after ``now`` among these daily wall times (None: none)."""
    today = local_date(now, tz)
    moments = [wall_to_utc(day, value, tz)
               for value in set(times) for day in (today, plus_days(today, 1))]
    later = [moment for moment in moments if moment > now]
    return min(later) if later else None


async def release_times(session: AsyncSession, office_id: int) -> list[time]:
    """The daily release times of an office's schedules (for when a kept answer must go)."""
    result = await session.execute(
        select(col(Schedule.release_time)).distinct().where(
            col(Schedule.office_id) == office_id, col(Schedule.release_time).is_not(None))
    )
    return [value for value in result.scalars() if value is not None]


async def release_time_text(session: AsyncSession, office_id: int | None,
                            service_id: int | None) -> str | None:
    """The earliest release time (HH:MM) of the schedules offering a service at an office, for
    the booking page's note; None when none of them has a release rule."""
    result = await session.execute(
        select(col(Schedule.release_time))
        .join(ScheduleService, col(ScheduleService.schedule_id) == col(Schedule.id))
        .where(col(Schedule.office_id) == office_id,
               col(ScheduleService.service_id) == service_id,
               col(Schedule.release_time).is_not(None))
        .order_by(col(Schedule.release_time)).limit(1)
    )
    value = result.scalar_one_or_none()
    return value.strftime("%H:%M") if value is not None else None
