"""An office's figures of a period, summed from the database.

Each part is one or two grouped queries bounded by the office and the period, each served by an
index (migration 0014): appointments by ``(office_id, start_at)``, decisions by ``(office_id,
completed_at)``, online requests by ``received_at`` / ``decided_at``, feedback by ``(office_id,
created_at)``; the call record is joined by its appointment's key. Medians and 90th percentiles
are taken in Python from the durations (the databases disagree on percentile functions; SQLite
has none), by the nearest-rank method: the value below which at least p of the values lie.

Which appointments count is decided by the appointment's start: a period's appointments are
those that were (or are) due in it. Decisions count by their day, online requests by the day
they were received (and, for the processing time, by the day they were decided), feedback by
the day it was given.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, Service
from calls.models import CallRecord
from cases.models import Case
from insights.period import Period
from online.models import OnlineRequest, RequestStatus
from postcall.dispatch_models import Feedback

CHANNELS = ("video", "onsite", "phone")
# What became of an appointment, by its status (every status falls in exactly one).
OUTCOME_OF = {
    "completed": "attended", "in_call": "attended",
    "confirmed": "open",
    "no_show": "no_show",
    "cancelled": "cancelled",
    "reserved": "lapsed", "expired": "lapsed",
}
OUTCOMES = ("attended", "open", "no_show", "cancelled", "lapsed")
# Outcomes of appointments that were booked (confirmed by the citizen at some point).
BOOKED = frozenset({"attended", "open", "no_show", "cancelled"})
DECIDED = (RequestStatus.completed.value, RequestStatus.rejected.value)


def nearest_rank(values: Sequence[int], share: float) -> int | None:
    """The p-quantile (``share`` = p) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


@dataclass(frozen=True)
class Spread:
    """How long something took: count, median and 90th percentile (seconds)."""

    count: int
    median: int | None
    p90: int | None

    @classmethod
    def of(cls, values: Sequence[int]) -> Spread:
        return cls(len(values), nearest_rank(values, 0.5), nearest_rank(values, 0.9))


@dataclass
class Bucket:
    """Appointments of one channel or one service, by outcome."""

    label: str
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def booked(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome in BOOKED)


@dataclass(frozen=True)
class CallFigures:
    started: int
    reported: int  # calls whose media connection the clerk's browser reported
    connected: Counter[str]  # route -> calls connected that way
    setup_failed: int  # calls with at least one failed set-up attempt
    never_connected: int  # calls with failed attempts and no connection
    setup: Spread  # milliseconds from start to connected
    waiting: Spread
    duration: Spread


@dataclass(frozen=True)
class RequestFigures:
    received: int
    decided: Counter[str]  # completed / rejected, decided in the period
    overdue: int  # received in the period, decided after the due time or still open past it
    still_open: int  # received in the period, not decided yet
    processing: Spread


@dataclass
class Figures:
    period: Period
    outcomes: Counter[str]
    channels: dict[str, Bucket]
    services: list[Bucket]
    calls: CallFigures
    requests: RequestFigures
    fees: dict[str, tuple[int, int]]  # kind -> (cases, cents)
    ratings: Counter[int]

    @property
    def appointments(self) -> int:
        return sum(self.outcomes.values())

    @property
    def booked(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome in BOOKED)


async def _appointments(session: AsyncSession, p: Period) -> tuple[
    Counter[str], dict[str, Bucket], list[Bucket]
]:
    query = (
        select(col(Appointment.service_id), col(Appointment.channel), col(Appointment.status),
               func.count())
        .where(col(Appointment.office_id) == p.office_id, col(Appointment.start_at) >= p.start,
               col(Appointment.start_at) < p.end)
        .group_by(col(Appointment.service_id), col(Appointment.channel),
                  col(Appointment.status))
    )
    rows = (await session.execute(query)).all()
    ids = sorted({int(service_id) for service_id, *_ in rows})
    names = dict((await session.execute(
        select(col(Service.id), col(Service.name)).where(col(Service.id).in_(ids)))).all())
    outcomes: Counter[str] = Counter()
    channels = {channel: Bucket(channel) for channel in CHANNELS}
    services: dict[int, Bucket] = {}
    for service_id, channel, status, count in rows:
        outcome = OUTCOME_OF.get(status, "open")
        outcomes[outcome] += count
        channels.setdefault(channel, Bucket(channel)).outcomes[outcome] += count
        bucket = services.setdefault(service_id, Bucket(str(names.get(service_id, service_id))))
        bucket.outcomes[outcome] += count
    ordered = sorted(services.values(), key=lambda b: (-b.booked, b.label))
    return outcomes, channels, ordered


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    """Whole seconds from ``start`` to ``end`` in SQL (the databases' date arithmetic differs)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Integer)
    return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400), Integer)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _ints(session: AsyncSession, query: Any) -> list[int]:
    return [int(v) for v in (await session.execute(query)).scalars() if v is not None]


async def _calls(session: AsyncSession, p: Period) -> CallFigures:
    """Counts in the database; the durations come back as integers for their quantiles."""
    record = col(CallRecord.appointment_id)
    in_period = (col(Appointment.office_id) == p.office_id,
                 col(Appointment.start_at) >= p.start, col(Appointment.start_at) < p.end)
    joined = select().select_from(CallRecord).join(
        Appointment, col(Appointment.id) == record).where(*in_period)
    route, failures = col(CallRecord.route), col(CallRecord.setup_failures)
    counts = (await session.execute(joined.add_columns(
        func.count(col(CallRecord.started_at)),
        _count_if(route.is_not(None) | (failures > 0)),
        _count_if(route == "direct"), _count_if(route == "relay"),
        _count_if(failures > 0), _count_if(route.is_(None) & (failures > 0)),
    ))).one()
    started, reported, direct, relay, setup_failed, never = (int(v or 0) for v in counts)

    waits: list[int] = []
    lengths: list[int] = []
    setups: list[int] = []
    wait, length, setup = (col(CallRecord.wait_seconds), col(CallRecord.call_seconds),
                           col(CallRecord.setup_ms))
    for values in await session.execute(joined.add_columns(wait, length, setup).where(
            wait.is_not(None) | length.is_not(None) | setup.is_not(None))):
        for into, value in zip((waits, lengths, setups), values, strict=True):
            if value is not None:
                into.append(int(value))
    return CallFigures(started=started, reported=reported,
                       connected=Counter({"direct": direct, "relay": relay}),
                       setup_failed=setup_failed, never_connected=never,
                       setup=Spread.of(setups), waiting=Spread.of(waits),
                       duration=Spread.of(lengths))


async def _requests(session: AsyncSession, p: Period, now: dt.datetime) -> RequestFigures:
    """Received ones counted in the database (overdue: decided after the due time, or still
    open past it at ``now``); decided ones' processing times as integers."""
    request = OnlineRequest
    decided = col(request.status).in_(DECIDED) & col(request.decided_at).is_not(None)
    due = col(request.due_at)
    base = (select().select_from(request)
            .join(Case, col(Case.id) == col(request.case_id))
            .where(col(Case.office_id) == p.office_id))
    received, still_open, overdue = (int(v or 0) for v in (await session.execute(
        base.add_columns(
            func.count(), _count_if(~col(request.status).in_(DECIDED)),
            _count_if(due.is_not(None) & (
                (decided & (col(request.decided_at) > due)) | (~decided & (due < now)))),
        ).where(col(request.received_at) >= p.start, col(request.received_at) < p.end),
    )).one())
    in_period = base.where(col(request.decided_at) >= p.start, col(request.decided_at) < p.end,
                           col(request.status).in_(DECIDED))
    by_status: Counter[str] = Counter({str(status): int(n) for status, n in (
        await session.execute(in_period.add_columns(col(request.status), func.count())
                              .group_by(col(request.status)))).all()})
    dialect = session.get_bind().dialect.name
    times = await _ints(session, in_period.add_columns(
        _seconds_between(col(request.received_at), col(request.decided_at), dialect))
        .where(col(request.received_at).is_not(None)))
    return RequestFigures(received=received, decided=by_status, overdue=overdue,
                          still_open=still_open, processing=Spread.of([max(0, t) for t in times]))


async def _fees(session: AsyncSession, p: Period) -> dict[str, tuple[int, int]]:
    query = (
        select(col(Case.payment_status), func.count(), func.sum(col(Case.amount_cents)))
        .where(col(Case.office_id) == p.office_id, col(Case.completed_at) >= p.start,
               col(Case.completed_at) < p.end, col(Case.amount_cents) > 0)
        .group_by(col(Case.payment_status))
    )
    kinds = {"paid": "paid", "open": "open", "failed": "open", "refunded": "refunded"}
    fees = dict.fromkeys(("charged", "paid", "open", "refunded"), (0, 0))
    for status, count, cents in await session.execute(query):
        for kind in ("charged", kinds.get(status)):
            if kind is not None:
                cases, total = fees[kind]
                fees[kind] = (cases + count, total + int(cents or 0))
    return fees


async def _ratings(session: AsyncSession, p: Period) -> Counter[int]:
    query = (
        select(col(Feedback.rating), func.count())
        .where(col(Feedback.office_id) == p.office_id, col(Feedback.created_at) >= p.start,
               col(Feedback.created_at) < p.end)
        .group_by(col(Feedback.rating))
    )
    ratings: Counter[int] = Counter(dict.fromkeys(range(1, 6), 0))
    for rating, count in await session.execute(query):
        ratings[int(rating)] += count
    return ratings


async def compute(session: AsyncSession, period: Period, now: dt.datetime) -> Figures:
    """Every figure of ``period`` (``now`` decides which open requests are overdue)."""
    outcomes, channels, services = await _appointments(session, period)
    return Figures(
        period=period, outcomes=outcomes, channels=channels, services=services,
        calls=await _calls(session, period), requests=await _requests(session, period, now),
        fees=await _fees(session, period), ratings=await _ratings(session, period),
    )
