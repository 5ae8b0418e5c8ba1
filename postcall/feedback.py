"""Feedback after the call: a rating from 1 to 5 and an optional comment (praise, criticism,
suggestions), once per appointment; admins read the results per office and month.

The form opens when the call is over: the appointment is completed, or the call ended while the
clerk has not completed it yet (the caller says so; the call record lives in the app).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, AppointmentStatus, Office
from core.document_numbers import no_document_number
from core.errors import Conflict, Invalid
from core.types import utcnow
from postcall.dispatch_models import Feedback

COMMENT_MAX = 2000
RATINGS = range(1, 6)


class FeedbackNotOpen(Conflict):
    code = "feedback_not_open"
    message = "You can give feedback once your video call is over."


class FeedbackGiven(Conflict):
    code = "feedback_given"
    message = "Thank you – you have already given feedback for this appointment."


def feedback_open(appointment: Appointment, *, call_over: bool) -> bool:
    if appointment.status == AppointmentStatus.completed:
        return True
    return appointment.status == AppointmentStatus.in_call and call_over


async def feedback_of(session: AsyncSession, appointment_id: int) -> Feedback | None:
    query = select(Feedback).where(col(Feedback.appointment_id) == appointment_id)
    return (await session.execute(query)).scalars().first()


def clean_comment(comment: str) -> str:
    # Keep line breaks (a longer comment may have paragraphs), drop other control characters.
    kept = "".join(ch for ch in comment if ch in "\n\t" or ch.isprintable())
    text = kept.replace("\r\n", "\n").strip()
    if len(text) > COMMENT_MAX:
        raise Invalid("At most %(max)s characters, please.", field="comment", max=COMMENT_MAX)
    return no_document_number(text, "comment", strict=False)


async def give_feedback(session: AsyncSession, appointment: Appointment, rating: int,
                        comment: str = "", *, call_over: bool,
                        now: dt.datetime | None = None) -> Feedback:
    if isinstance(rating, bool) or rating not in RATINGS:
        raise Invalid("Choose a rating from 1 to 5.", field="rating")
    text = clean_comment(comment)
    if not feedback_open(appointment, call_over=call_over):
        raise FeedbackNotOpen()
    assert appointment.id is not None
    if await feedback_of(session, appointment.id) is not None:
        raise FeedbackGiven()
    row = Feedback(appointment_id=appointment.id, office_id=appointment.office_id,
                   rating=rating, comment=text, created_at=now or utcnow())
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a second tab sent it at the same moment
        raise FeedbackGiven() from exc
    return row


# --- results for admins ----------------------------------------------------------------------


@dataclass
class MonthResult:
    office_id: int
    office_name: str
    month: str  # YYYY-MM in the office's time zone
    count: int = 0
    total: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))
    comments: list[tuple[dt.datetime, int, str]] = field(default_factory=list)

    @property
    def average_tenths(self) -> int:
        """The average rating in tenths, rounded half up (4.25 → 43) with integers only."""
        if not self.count:
            return 0
        return (20 * self.total + self.count) // (2 * self.count)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM`` → first day of the month and first day of the next one."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise Invalid("Give the month as YYYY-MM.", field="month") from exc
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


async def results(session: AsyncSession, office_ids: Sequence[int] | None = None,
                  month: str | None = None) -> list[MonthResult]:
    """Counts, average, distribution and comments per office and month, newest month first."""
    query = select(Feedback, Office).join(Office, col(Office.id) == col(Feedback.office_id))
    if office_ids is not None:
        query = query.where(col(Feedback.office_id).in_(list(office_ids)))
    bounds = month_bounds(month) if month else None
    if bounds is not None:
        # A day of margin either side; the exact month is decided in the office's zone below.
        start = dt.datetime.combine(bounds[0] - dt.timedelta(days=1), dt.time(), dt.UTC)
        end = dt.datetime.combine(bounds[1] + dt.timedelta(days=1), dt.time(), dt.UTC)
        query = query.where(col(Feedback.created_at) >= start, col(Feedback.created_at) < end)
    query = query.order_by(col(Feedback.created_at).desc())
    grouped: dict[tuple[int, str], MonthResult] = {}
    by_key: defaultdict[tuple[int, str], list[Feedback]] = defaultdict(list)
    offices: dict[int, Office] = {}
    for row, office in await session.execute(query):
        local = row.created_at.astimezone(ZoneInfo(office.timezone))
        key = (office.id or 0, f"{local.year:04d}-{local.month:02d}")
        if month and key[1] != month:
            continue
        offices[key[0]] = office
        by_key[key].append(row)
    for key, rows in by_key.items():
        result = MonthResult(office_id=key[0], office_name=offices[key[0]].name, month=key[1])
        for row in rows:
            result.count += 1
            result.total += row.rating
            result.distribution[row.rating] += 1
            if row.comment:
                result.comments.append((row.created_at, row.rating, row.comment))
        grouped[key] = result
    by_office = sorted(grouped.values(), key=lambda r: r.office_name)
    return sorted(by_office, key=lambda r: r.month, reverse=True)
