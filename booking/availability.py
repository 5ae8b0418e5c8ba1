"""Free slots: weekly schedules minus closures minus booked capacity.

Opening hours are wall-clock times in the office's IANA zone; everything else is UTC. One day's
opening of a schedule runs from its start wall time to its end wall time, both converted to UTC,
and the slot grid steps ``slot_minutes`` of *real* time from the opening. On ordinary days that is
exactly the wall-clock grid. On a changeover day it means:

* spring forward (02:00 → 03:00): wall times that do not exist are never offered, and an opening
  01:00–04:00 has two real hours of slots (01:00 … 01:45, then 03:00 … 03:45);
* fall back (03:00 → 02:00): the repeated hour is real time with real clerks, so an opening
  01:00–04:00 has four hours of slots; the two 02:15s differ in their UTC offset (+02:00/+01:00)
  and are distinct instants, never the same slot twice.

Durations are always real elapsed time. A slot covers the grid steps ("units") its duration
touches; each unit has ``capacity`` seats in ``slot_seat``. The full units of a whole window come
from one grouped query, so a month of availability is a handful of queries regardless of size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BindParameter, ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.catalog import BOOKABLE, load_office, load_service
from booking.channels import default_channel, offered, serves
from booking.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    Office,
    Schedule,
    ScheduleService,
    Service,
    ServiceOffice,
    SlotSeat,
)
from core.errors import NotFound
from core.types import utcnow


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime  # aware UTC


@dataclass(frozen=True)
class Candidate:
    """A slot of one schedule on one day, with the grid units its duration covers."""

    start: datetime
    end: datetime
    schedule_id: int
    capacity: int
    units: tuple[datetime, ...]


# --- time zone arithmetic ----------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # An office row with a bad zone is a configuration error, not a client error; the admin
        # API validates zones, so this only guards against hand-edited data.
        raise NotFound("This office is not available.") from exc


def wall_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a day in ``tz``.

    A repeated wall time (fall back) maps to its first occurrence. A wall time that does not exist
    (spring forward) maps to the moment the clocks jumped, i.e. the first existing instant after it.
    """
    naive = datetime.combine(day, wall)
    later = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0
    if later.astimezone(tz).replace(tzinfo=None) == naive:
        return later
    earlier = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    # Binary search for the jump: the first instant whose wall time is not before ``naive``.
    lo, hi = earlier, later
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def local_date(value: datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date()


def office_today(office: Office, now: datetime | None = None) -> date:
    """The date on the office's wall clock at ``now`` (default: the current time)."""
    return local_date(now or utcnow(), zone(office.timezone))


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC)


# --- the grid ----------------------------------------------------------------------------------


class Weekly(Protocol):
    """What decides whether a schedule runs on a day (a ``Schedule`` or a row of one)."""

    @property
    def valid_from(self) -> date: ...

    @property
    def valid_until(self) -> date | None: ...

    def weekday_list(self) -> list[int]: ...


class Releasing(Protocol):
    """What a release rule needs of a schedule (``booking/release.py``)."""

    @property
    def release_time(self) -> time | None: ...

    @property
    def release_days_ahead(self) -> int | None: ...


def release_opens_at(schedule: Releasing, day: date, tz: ZoneInfo) -> datetime | None:
    """When the slots of ``day`` (office-local) are released (``booking/release.py``); None:
    the schedule has no release rule."""
    if schedule.release_time is None:
        return None
    return wall_to_utc(plus_days(day, -(schedule.release_days_ahead or 0)),
                       schedule.release_time, tz)


def released(schedule: Releasing, day: date, now: datetime, tz: ZoneInfo) -> bool:
    moment = release_opens_at(schedule, day, tz)
    return moment is None or now >= moment


def runs_on(schedule: Weekly, day: date) -> bool:
    if day < schedule.valid_from:
        return False
    if schedule.valid_until is not None and day > schedule.valid_until:
        return False
    return day.weekday() in schedule.weekday_list()


def day_candidates(
    schedules: Iterable[Schedule], day: date, tz: ZoneInfo, duration: timedelta
) -> Iterator[Candidate]:
    """Every slot of ``day`` (office-local) whose whole duration fits in an opening."""
    for schedule in schedules:
        if not runs_on(schedule, day) or schedule.end_time <= schedule.start_time:
            continue
        assert schedule.id is not None
        opens = wall_to_utc(day, schedule.start_time, tz)
        closes = wall_to_utc(day, schedule.end_time, tz)
        step = timedelta(minutes=schedule.slot_minutes)
        start = opens
        while start + duration <= closes:
            yield candidate_at(schedule.id, schedule.capacity, start, duration, step)
            start += step


def candidate_at(
    schedule_id: int, capacity: int, start: datetime, duration: timedelta, step: timedelta
) -> Candidate:
    """The slot of one schedule at ``start``, with the grid units (steps) its duration covers."""
    n_units = max(1, math.ceil(duration / step))
    return Candidate(
        start=start,
        end=start + duration,
        schedule_id=schedule_id,
        capacity=capacity,
        units=tuple(start + i * step for i in range(n_units)),
    )


def days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        if day == end:  # also keeps date.max from overflowing
            return
        day += timedelta(days=1)


def plus_days(day: date, n: int) -> date:
    try:
        return day + timedelta(days=n)
    except OverflowError:
        return date.max if n > 0 else date.min


# --- queries -----------------------------------------------------------------------------------


async def is_offered(session: AsyncSession, service_id: int, office_id: int) -> bool:
    row = await session.execute(
        select(col(ServiceOffice.service_id)).where(
            col(ServiceOffice.service_id) == service_id, col(ServiceOffice.office_id) == office_id
        )
    )
    return row.first() is not None


async def load_schedules(
    session: AsyncSession, *, service_id: int, office_id: int, start_date: date, end_date: date,
    channel: str | None = None,
) -> list[Schedule]:
    """The schedules of a service at an office in a date range; with ``channel``, only those
    whose seats serve it (``booking.channels.serves``)."""
    result = await session.execute(
        select(Schedule)
        .join(ScheduleService, col(ScheduleService.schedule_id) == col(Schedule.id))
        .where(
            col(ScheduleService.service_id) == service_id,
            col(Schedule.office_id) == office_id,
            col(Schedule.valid_from) <= end_date,
            or_(col(Schedule.valid_until).is_(None), col(Schedule.valid_until) >= start_date),
            serves(channel) if channel is not None else true(),
        )
        .order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def closed_days(
    session: AsyncSession, *, office_id: int, start_date: date, end_date: date
) -> set[date]:
    result = await session.execute(
        select(col(Closure.date)).where(
            or_(col(Closure.office_id) == office_id, col(Closure.office_id).is_(None)),
            col(Closure.date) >= start_date,
            col(Closure.date) <= end_date,
        )
    )
    return set(result.scalars().all())


def lapsed_hold(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A reserved appointment whose hold has run out: its seats count as free."""
    return and_(
        col(Appointment.status) == AppointmentStatus.reserved,
        col(Appointment.hold_expires_at) <= now,
    )


async def full_units(
    session: AsyncSession,
    *,
    capacities: Mapping[int, int],
    first_unit: datetime,
    before: datetime,
    now: datetime,
) -> set[tuple[int, datetime]]:
    """The (schedule, unit) pairs in ``[first_unit, before)`` whose seats are all taken.

    One grouped query that returns only the full units, so a busy month yields a few hundred rows
    rather than one per unit. Seats of lapsed holds do not count. They are excluded through the
    (small) set of lapsed appointments instead of a join from every seat to its appointment, so
    the scan stays on the seat table's unique index (schedule, unit, seat). ``capacities`` maps
    each schedule to its current capacity.
    """
    if not capacities:
        return set()
    lapsed = select(col(Appointment.id)).where(lapsed_hold(now))
    capacity = case(dict(capacities), value=col(SlotSeat.schedule_id))
    result = await session.execute(
        select(col(SlotSeat.schedule_id), col(SlotSeat.unit_start))
        .where(
            col(SlotSeat.schedule_id).in_(list(capacities)),
            col(SlotSeat.unit_start) >= first_unit,
            col(SlotSeat.unit_start) < before,
            col(SlotSeat.appointment_id).not_in(lapsed),
        )
        .group_by(col(SlotSeat.schedule_id), col(SlotSeat.unit_start))
        .having(func.count() >= capacity)
    )
    return {(sid, as_utc(unit)) for sid, unit in result.all()}


async def next_hold_lapse(
    session: AsyncSession, *, office_id: int, now: datetime
) -> datetime | None:
    """When the next hold at an office runs out: its seats count as free from then on."""
    result = await session.execute(
        select(func.min(col(Appointment.hold_expires_at))).where(
            col(Appointment.office_id) == office_id,
            col(Appointment.status) == AppointmentStatus.reserved,
            col(Appointment.hold_expires_at) > now,
        )
    )
    value = result.scalar_one_or_none()
    return as_utc(value) if value is not None else None


async def load_offer(
    session: AsyncSession, *, office_id: int, service_id: int
) -> tuple[Office, Service, bool]:
    """The office, the bookable service and whether the office offers it, in one query.

    ``NotFound`` for an unknown office (checked first) or an unknown or not bookable service
    (``booking.catalog.BOOKABLE``).
    """
    offered = (
        select(col(ServiceOffice.service_id))
        .where(
            col(ServiceOffice.service_id) == col(Service.id),
            col(ServiceOffice.office_id) == col(Office.id),
        )
        .exists()
    )
    row = (
        await session.execute(
            select(Office, Service, offered)
            # One row of two unrelated tables: the join condition picks the service.
            .join_from(Office, Service, col(Service.id) == service_id)
            .where(col(Office.id) == office_id, BOOKABLE)
        )
    ).first()
    if row is None:
        await load_office(session, office_id)  # raises the right NotFound
        await load_service(session, service_id)
        raise NotFound("This service does not exist.")
    office, service, is_offered_here = row
    return office, service, bool(is_offered_here)


# --- public API --------------------------------------------------------------------------------


async def free_slots(
    session: AsyncSession,
    *,
    service_id: int,
    office_id: int,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
    channel: str | None = None,
) -> list[Slot]:
    """Bookable slots between two office-local dates (inclusive), earliest first, for
    ``channel`` (default: the service's default channel).

    Raises ``NotFound`` for an unknown office or an unknown or not bookable service. A service
    the office does not offer simply has no slots there.
    """
    now = now or utcnow()
    office, service, offered = await load_offer(
        session, office_id=office_id, service_id=service_id
    )
    if not offered:
        return []
    return await free_slots_of(session, office, service, start_date, end_date, now, channel)


async def free_slots_of(
    session: AsyncSession, office: Office, service: Service, start_date: date, end_date: date,
    now: datetime, channel: str | None = None, *, minutes: int | None = None,
    schedule_ids: frozenset[int] | None = None,
) -> list[Slot]:
    """``free_slots`` for an office and service already loaded, and known to be offered there;
    none for a channel the service is not offered by.

    ``minutes`` and ``schedule_ids``: the length of an appointment for several services or
    people, and the schedules that offer them all (``booking.composition``)."""
    assert office.id is not None and service.id is not None
    channel = channel or default_channel(service)
    if channel not in offered(service):
        return []
    tz = zone(office.timezone)
    earliest = now + timedelta(minutes=office.min_notice_minutes)
    today = local_date(now, tz)
    start_date = max(start_date, today)
    end_date = min(end_date, plus_days(today, office.horizon_days))
    if start_date > end_date:
        return []
    schedules = await load_schedules(
        session, service_id=service.id, office_id=office.id,
        start_date=start_date, end_date=end_date, channel=channel,
    )
    if schedule_ids is not None:
        schedules = [s for s in schedules if s.id in schedule_ids]
    if not schedules:
        return []
    closed = await closed_days(
        session, office_id=office.id, start_date=start_date, end_date=end_date
    )
    duration = timedelta(minutes=service.duration_minutes if minutes is None else minutes)
    # Each opening as (first start not too soon, last start that still fits, schedule): the same
    # grid as ``day_candidates`` without building a Candidate per slot.
    openings: list[tuple[datetime, datetime, Schedule]] = []
    for day in days(start_date, end_date):
        if day in closed:
            continue
        for schedule in schedules:
            if (not runs_on(schedule, day) or schedule.end_time <= schedule.start_time
                    or not released(schedule, day, now, tz)):
                continue
            opens = wall_to_utc(day, schedule.start_time, tz)
            last = wall_to_utc(day, schedule.end_time, tz) - duration
            if opens < earliest:
                step = timedelta(minutes=schedule.slot_minutes)
                opens += -((opens - earliest) // step) * step  # the first step at or after it
            if opens <= last:
                openings.append((opens, last, schedule))
    if not openings:
        return []
    full = await full_units(
        session,
        capacities={s.id: s.capacity for s in schedules if s.id is not None},
        first_unit=min(o[0] for o in openings),
        before=max(o[1] for o in openings) + duration,
        now=now,
    )
    free: dict[datetime, datetime] = {}
    for start, last, schedule in openings:
        sid = schedule.id
        step = timedelta(minutes=schedule.slot_minutes)
        offsets = [i * step for i in range(max(1, math.ceil(duration / step)))]
        while start <= last:
            # Two schedules offering the same time make one slot.
            if start not in free and not any((sid, start + o) in full for o in offsets):
                free[start] = start + duration
            start += step
    return [Slot(start, end) for start, end in sorted(free.items())]


async def free_days(
    session: AsyncSession,
    *,
    service_id: int,
    office_id: int,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
    channel: str | None = None,
) -> list[date]:
    """Office-local days between two dates (inclusive) with at least one free slot."""
    office = await load_office(session, office_id)
    tz = zone(office.timezone)
    slots = await free_slots(
        session, service_id=service_id, office_id=office_id,
        start_date=start_date, end_date=end_date, now=now, channel=channel,
    )
    return sorted({local_date(s.start, tz) for s in slots})


async def days_ahead(
    session: AsyncSession, *, service_id: int, office: Office, now: datetime | None = None,
    channel: str | None = None,
) -> list[date]:
    """``free_days`` from the office's today to the end of its booking window
    (``horizon_days``): the days a citizen may choose from."""
    assert office.id is not None
    today = office_today(office, now)
    return await free_days(
        session, service_id=service_id, office_id=office.id, start_date=today,
        end_date=today + timedelta(days=office.horizon_days), now=now, channel=channel,
    )
