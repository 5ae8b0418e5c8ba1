"""The public availability window: ``from``/``to`` as the API takes them, and how long an answer
holds.

A window is given as office-local dates (inclusive days) or as instants; it spans at most
``MAX_WINDOW_DAYS``. ``window_availability`` also says when its answer may change without any
write (``Window.changes_at``), which is what lets the API keep an answer for a while
(``booking/availability_cache.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.availability import (
    Slot,
    free_slots_of,
    load_offer,
    local_date,
    next_hold_lapse,
    plus_days,
    wall_to_utc,
    zone,
)
from booking.channels import offered_channel
from booking.composition import Composition, shape_at
from booking.models import Office
from booking.release import next_release, release_times
from core.errors import Invalid
from core.types import utcnow

MAX_WINDOW_DAYS = 62


def _local(value: date | datetime, tz: ZoneInfo) -> datetime | date:
    """A date stays a date; a datetime becomes aware (naive ones are office wall time)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value
    return value


def _day(value: date | datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Window:
    """The free slots of a window, and until when that answer holds while nothing is written.

    Time alone changes availability: a slot becomes too soon once its start is nearer than the
    minimum notice, each local midnight moves the booking horizon one day on, a hold that runs
    out frees its seats, and a schedule's release time opens another day. ``changes_at`` is the
    earliest of these instants: at every instant before it, a fresh read gives the same answer
    unless something is written.
    """

    office: Office
    slots: list[Slot]
    changes_at: datetime


async def window_availability(
    session: AsyncSession,
    *,
    service_id: int,
    office_id: int,
    start: date | datetime,
    end: date | datetime,
    now: datetime | None = None,
    composition: Composition | None = None,
    channel: str | None = None,
) -> Window:
    """Free slots from ``start`` to ``end``, with the instant that answer may change by itself
    (see ``Window``): dates are inclusive office-local days; date-times are instants (slots
    starting in [start, end)). ``end`` may lie at most 62 days after ``start``; an unknown office
    or service is ``NotFound``, a bad window or a channel the service is not offered by
    ``Invalid`` (``channel`` None: the service's default channel). ``composition``: the free
    starts of an appointment for several services or people (the first service is
    ``service_id``)."""
    now = now or utcnow()
    office, service, offered = await load_offer(
        session, office_id=office_id, service_id=service_id
    )
    assert office.id is not None
    if channel is not None:
        offered_channel(service, channel)
    tz = zone(office.timezone)
    lo, hi = _local(start, tz), _local(end, tz)
    first, last = _day(lo, tz), _day(hi, tz)
    if last < first or (isinstance(lo, datetime) and isinstance(hi, datetime) and hi < lo):
        raise Invalid("The end of the range (to) is before its start (from).", field="to")
    if (last - first).days > MAX_WINDOW_DAYS:
        raise Invalid(
            "The range may span at most %(days)s days.", field="to", days=MAX_WINDOW_DAYS
        )
    if composition is not None and not composition.plain:
        shape = await shape_at(session, composition, office.id)
        slots = await free_slots_of(
            session, office, service, first, last, now, channel, minutes=shape.minutes,
            schedule_ids=shape.schedule_ids) if shape.offered and offered else []
    else:
        slots = (await free_slots_of(session, office, service, first, last, now, channel)
                 if offered else [])
    if isinstance(lo, datetime):
        slots = [s for s in slots if s.start >= lo]
    if isinstance(hi, datetime):
        slots = [s for s in slots if s.start < hi]
    changes_at = wall_to_utc(plus_days(local_date(now, tz), 1), time(0), tz)
    if slots:
        changes_at = min(changes_at, slots[0].start - timedelta(minutes=office.min_notice_minutes))
    lapse = await next_hold_lapse(session, office_id=office.id, now=now)
    if lapse is not None:
        changes_at = min(changes_at, lapse)
    # A release moment (booking/release.py) adds slots by itself: no kept answer outlives it.
    release = next_release(await release_times(session, office.id), now, tz)
    if release is not None:
        changes_at = min(changes_at, release)
    return Window(office, slots, changes_at)
