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

from sqlalchemy import func, select
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


async def _calls(session: AsyncSession, p: Period) -> CallFigures:
    query = (
        select(col(CallRecord.started_at).is_not(None), col(CallRecord.wait_seconds),
               col(CallRecord.call_seconds), col(CallRecord.route), col(CallRecord.setup_ms),
               col(CallRecord.setup_failures))
        .join(Appointment, col(Appointment.id) == col(CallRecord.appointment_id))
        .where(col(Appointment.office_id) == p.office_id, col(Appointment.start_at) >= p.start,
               col(Appointment.start_at) < p.end)
    )
    started = reported = setup_failed = never = 0
    waits: list[int] = []
    durations: list[int] = []
    setups: list[int] = []
    routes: Counter[str] = Counter()
    for was_started, wait, length, route, setup_ms, failures in await session.execute(query):
        started += bool(was_started)
        if wait is not None:
            waits.append(wait)
        if length is not None:
            durations.append(length)
        if route is not None or failures:
            reported += 1
        if route is not None:
            routes[route] += 1
            if setup_ms is not None:
                setups.append(setup_ms)
        if failures:
            setup_failed += 1
            never += route is None
    return CallFigures(started=started, reported=reported, connected=routes,
                       setup_failed=setup_failed, never_connected=never,
                       setup=Spread.of(setups), waiting=Spread.of(waits),
                       duration=Spread.of(durations))


async def _requests(session: AsyncSession, p: Period, now: dt.datetime) -> RequestFigures:
    base = (select(col(OnlineRequest.received_at), col(OnlineRequest.decided_at),
                   col(OnlineRequest.due_at), col(OnlineRequest.status))
            .join(Case, col(Case.id) == col(OnlineRequest.case_id))
            .where(col(Case.office_id) == p.office_id))
    received = overdue = still_open = 0
    for _, decided_at, due_at, status in await session.execute(base.where(
            col(OnlineRequest.received_at) >= p.start, col(OnlineRequest.received_at) < p.end)):
        received += 1
        if status not in DECIDED:
            still_open += 1
        settled = decided_at if status in DECIDED and decided_at is not None else now
        overdue += due_at is not None and settled > due_at
    decided: Counter[str] = Counter()
    times: list[int] = []
    for received_at, decided_at, _, status in await session.execute(base.where(
            col(OnlineRequest.decided_at) >= p.start, col(OnlineRequest.decided_at) < p.end,
            col(OnlineRequest.status).in_(DECIDED))):
        decided[status] += 1
        if received_at is not None and decided_at is not None:
            times.append(max(0, int((decided_at - received_at).total_seconds())))
    return RequestFigures(received=received, decided=decided, overdue=overdue,
                          still_open=still_open, processing=Spread.of(times))


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
