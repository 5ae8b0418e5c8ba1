"""Is this start a bookable slot? Everything a booking needs to know, read in one statement.

A booking (and a move) needs the office's zone and booking window, whether the service is
bookable (``booking.catalog.BOOKABLE``) and offered there, whether the day is closed, and the
schedules that may run that day. Those come from six tables; ``load_slot_offer`` reads them
with one prepared statement (one row per schedule), and ``pick_slot`` decides in Python, with
the same answers and messages for every caller. Seats are not part of it: whether a slot still
has a free place is the database's decision when the seat is claimed (``booking.seats``).

The office-local day of an instant lies within one day of its UTC date in any zone, so closures
are looked up for those three days and the schedules for that range; ``pick_slot`` keeps what
applies to the local day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import BindParameter, Date, Exists, Integer, and_, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.availability import (
    Candidate,
    as_utc,
    candidate_at,
    local_date,
    plus_days,
    released,
    runs_on,
    wall_to_utc,
    zone,
)
from booking.catalog import BOOKABLE
from booking.channels import offered_names, opening_serves
from booking.models import (
    Closure,
    Office,
    Schedule,
    ScheduleService,
    Service,
    ServiceOffice,
    parse_weekdays,
)
from booking.release import refuse
from core.errors import NotASlot, NotFound
from core.tenancy import current_municipality


@dataclass(frozen=True, slots=True)
class WeeklyOpening:
    """The columns of a schedule that place its slots."""

    id: int
    weekdays: str
    start_time: time
    end_time: time
    slot_minutes: int
    capacity: int
    valid_from: date
    valid_until: date | None
    release_time: time | None = None  # booking/release.py
    release_days_ahead: int | None = None
    channel: str | None = None  # None: shared by every channel (``booking.channels``)

    def weekday_list(self) -> list[int]:
        return parse_weekdays(self.weekdays)


@dataclass(frozen=True, slots=True)
class SlotOffer:
    office_id: int
    timezone: str
    min_notice_minutes: int
    horizon_days: int
    service_id: int
    duration_minutes: int
    offered: bool
    closed: frozenset[date]  # closures among the UTC date of the start and the days around it
    openings: tuple[WeeklyOpening, ...]  # by schedule id
    channels: tuple[str, ...] = ("video",)  # the service's, in the usual order


_office = Office.__table__  # type: ignore[attr-defined]
_service = Service.__table__  # type: ignore[attr-defined]
_schedule = Schedule.__table__  # type: ignore[attr-defined]
_schedule_service = ScheduleService.__table__  # type: ignore[attr-defined]
_service_office = ServiceOffice.__table__  # type: ignore[attr-defined]
_closure = Closure.__table__  # type: ignore[attr-defined]

_OFFICE = bindparam("office_id", type_=Integer)
_SERVICE = bindparam("service_id", type_=Integer)
_DAYS = [bindparam(f"day{i}", type_=Date) for i in range(3)]


def _closed_on(day: BindParameter[date]) -> Exists:
    return exists().where(
        or_(_closure.c.office_id == _office.c.id,
            and_(_closure.c.office_id.is_(None),
                 _closure.c.municipality_id == _office.c.municipality_id)),
        _closure.c.date == day,
    )


# Built once: SQLAlchemy keeps the compiled form, the driver the prepared statement.
_STATEMENT = (
    select(
        _office.c.id, _office.c.timezone, _office.c.min_notice_minutes, _office.c.horizon_days,
        _service.c.id, _service.c.duration_minutes, BOOKABLE,
        exists().where(_service_office.c.service_id == _service.c.id,
                       _service_office.c.office_id == _office.c.id),
        *(_closed_on(day) for day in _DAYS),
        _schedule.c.id, _schedule.c.weekdays, _schedule.c.start_time, _schedule.c.end_time,
        _schedule.c.slot_minutes, _schedule.c.capacity, _schedule.c.valid_from,
        _schedule.c.valid_until, _schedule.c.release_time, _schedule.c.release_days_ahead,
        _schedule.c.channel,
        # The service's channels, in the same read: a booking checks its channel against them.
        _service.c.video, _service.c.onsite, _service.c.phone,
        # A table statement is not kept to the request's municipality (``tenants.scope``):
        # ``load_slot_offer`` checks it.
        _office.c.municipality_id, _service.c.municipality_id,
    )
    .select_from(
        _office.outerjoin(_service, _service.c.id == _SERVICE).outerjoin(
            _schedule,
            and_(
                _schedule.c.office_id == _office.c.id,
                _schedule.c.valid_from <= _DAYS[2],
                or_(_schedule.c.valid_until.is_(None), _schedule.c.valid_until >= _DAYS[0]),
                exists().where(_schedule_service.c.schedule_id == _schedule.c.id,
                               _schedule_service.c.service_id == _SERVICE),
            ),
        )
    )
    .where(_office.c.id == _OFFICE)
    .order_by(_schedule.c.id)
)


async def load_slot_offer(
    session: AsyncSession, *, office_id: int, service_id: int, start: datetime
) -> SlotOffer:
    """``NotFound`` for an unknown office (first) or an unknown or not bookable service."""
    utc_day = as_utc(start).date()
    days = (plus_days(utc_day, -1), utc_day, plus_days(utc_day, 1))
    params: dict[str, object] = {"office_id": office_id, "service_id": service_id}
    params.update((f"day{i}", day) for i, day in enumerate(days))
    rows = (await session.execute(_STATEMENT, params)).all()
    if not rows:
        raise NotFound("This office does not exist.")
    first = rows[0]
    mid = current_municipality()
    if mid is not None and first[25] != mid:
        raise NotFound("This office does not exist.")
    if first[4] is None or not first[6] or (mid is not None and first[26] != mid):
        raise NotFound("This service does not exist.")
    closed = frozenset(day for day, flag in zip(days, first[8:11], strict=True) if flag)
    openings = tuple(WeeklyOpening(*row[11:22]) for row in rows if row[11] is not None)
    return SlotOffer(
        office_id=first[0], timezone=first[1], min_notice_minutes=first[2],
        horizon_days=first[3], service_id=first[4], duration_minutes=first[5],
        offered=bool(first[7]), closed=closed, openings=openings,
        channels=tuple(offered_names(*first[22:25])),
    )


def pick_slot(offer: SlotOffer, start: datetime, now: datetime,
              channel: str = "video") -> list[Candidate]:
    """The schedules that offer ``start`` for ``channel`` (first one first), ignoring seats.

    Raises ``NotASlot`` with a message that says why: past, too soon, too far ahead, not offered
    here, closed, or simply not on the grid.
    """
    start = as_utc(start)
    tz = zone(offer.timezone)
    day = local_date(start, tz)
    if start < now:
        raise NotASlot("This time is in the past.")
    if start < now + timedelta(minutes=offer.min_notice_minutes):
        raise NotASlot(
            "This time is too soon. Appointments must be booked at least %(minutes)s minutes "
            "in advance.",
            minutes=offer.min_notice_minutes,
        )
    if day > plus_days(local_date(now, tz), offer.horizon_days):
        raise NotASlot(
            "This date is too far ahead. Appointments can be booked up to %(days)s days ahead.",
            days=offer.horizon_days,
        )
    if not offer.offered:
        raise NotASlot("This service is not offered at this office.")
    if day in offer.closed:
        raise NotASlot("The office is closed on this day.")
    duration = timedelta(minutes=offer.duration_minutes)
    found: list[Candidate] = []
    unreleased: WeeklyOpening | None = None
    for opening in offer.openings:
        if not runs_on(opening, day) or opening.end_time <= opening.start_time:
            continue
        if not opening_serves(opening.channel, channel):
            continue
        # The grid of ``availability.day_candidates``: steps of real time from the opening, and
        # the whole duration before the closing.
        opens = wall_to_utc(day, opening.start_time, tz)
        step = timedelta(minutes=opening.slot_minutes)
        if start < opens or (start - opens) % step or start + duration > wall_to_utc(
            day, opening.end_time, tz
        ):
            continue
        if not released(opening, day, now, tz):
            unreleased = unreleased or opening
            continue
        found.append(candidate_at(opening.id, opening.capacity, start, duration, step))
    if not found and unreleased is not None:
        raise refuse(unreleased, day, tz)
    if not found:
        raise NotASlot()
    return found
