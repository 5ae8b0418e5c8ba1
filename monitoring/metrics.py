"""Prometheus metrics, one registry per app (built in the lifespan, served at ``/metrics``).

Two kinds of numbers:

* Counters and a histogram kept in this process: bookings by outcome, rate-limit hits, holds
  released and job failures of the in-process worker, call events seen by this instance. Like
  every Prometheus counter they start at zero with the process; sum them over instances.
* Gauges read from the database when scraped (``refresh``): job queue depth and jobs by state,
  appointments by status, payment attempts and provider events, dispatches and cases by state.
  They are the same on every instance, so a separate ``buergerbuero worker`` process needs no
  endpoint of its own. Each is one ``GROUP BY`` over an indexed status column.

The registry is never the module-global default one, so several apps in one process (tests, or
two instances in one interpreter) never share or clash over metrics.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from sqlmodel import col
from starlette.exceptions import HTTPException

from core.errors import DomainError, RateLimited, SlotTaken
from core.ratelimit import RateLimiter
from core.transactions import Transactions


class AppContext(Protocol):
    """What the metrics read of an app's context (``app.context.AppContext``)."""

    @property
    def db(self) -> Transactions: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def extras(self) -> dict[str, Any]: ...

log = logging.getLogger("buergerbuero.metrics")

REGISTRY_KEY = "metrics_registry"
METRICS_KEY = "metrics"
# Rooms an instance remembers to time the call setup (the newest win).
_ROOM_MEMORY = 4096


class Metrics:
    """The app's metrics and the small amount of state that derives them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.bookings = Counter(
            "buero_bookings", "Booking requests by outcome "
            "(created, slot_taken, invalid, rate_limited).", ["outcome"], registry=r)
        for outcome in ("created", "slot_taken", "invalid", "rate_limited"):
            self.bookings.labels(outcome)
        self.rate_limit_hits = Counter(
            "buero_rate_limit_hits", "Requests refused by a rate limit, by rule.", ["rule"],
            registry=r)
        self.rate_limit_fallback = Gauge(
            "buero_rate_limit_fallback", "1 while Redis is unreachable and rate limits are "
            "counted in this process instead.", registry=r)
        self.rate_limit_fallbacks = Counter(
            "buero_rate_limit_fallbacks", "Times Redis was lost and rate limits fell back to "
            "this process.", registry=r)
        self.rate_limit_in_memory = Counter(
            "buero_rate_limit_counted_in_memory", "Rate-limit checks counted in this process "
            "because Redis was unreachable.", registry=r)
        self.holds_expired = Counter(
            "buero_holds_expired", "Reserved appointments released because the hold lapsed "
            "(by this process's worker).", registry=r)
        self.job_failures = Counter(
            "buero_job_failures", "Failed job attempts (by this process's worker), by kind and "
            "whether the job was given up.", ["kind", "final"], registry=r)
        self.call_events = Counter(
            "buero_call_events", "Signalling room events seen by this instance.",
            ["event", "role"], registry=r)
        self.calls_waiting = Gauge(
            "buero_calls_waiting", "Citizens in a waiting room on this instance.", registry=r)
        self.calls_connected = Counter(
            "buero_calls_connected", "Calls started (both present and admitted).", registry=r)
        self.calls_failed = Counter(
            "buero_calls_failed", "Citizens who left the waiting room before their call "
            "started.", registry=r)
        self.call_setup = Histogram(
            "buero_call_setup_seconds", "From the citizen entering the waiting room to the "
            "call starting.", registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600))
        self.jobs = Gauge("buero_jobs", "Open and failed jobs in the outbox by status.",
                          ["status"], registry=r)
        self.job_queue_depth = Gauge(
            "buero_job_queue_depth", "Jobs waiting to run (pending, due or not) or running.",
            registry=r)
        self.appointments = Gauge(
            "buero_appointments", "Appointments by status (expired = holds that lapsed).",
            ["status"], registry=r)
        self.municipality_appointments = Gauge(
            "buero_municipality_appointments", "Appointments by municipality (its id) and "
            "status.", ["municipality", "status"], registry=r)
        self.payment_attempts = Gauge(
            "buero_payment_attempts", "Online payment attempts by status.", ["status"],
            registry=r)
        self.payment_events = Gauge(
            "buero_payment_events", "Payment provider webhook events handled, by type and "
            "outcome.", ["event_type", "outcome"], registry=r)
        self.cases_payment = Gauge(
            "buero_cases_by_payment_status", "Cases by payment status.", ["status"], registry=r)
        self.cases_dispatch = Gauge(
            "buero_cases_by_dispatch_status", "Cases by dispatch status.", ["status"], registry=r)
        self.dispatches = Gauge(
            "buero_dispatches", "Postal dispatches by state.", ["status"], registry=r)
        self.scrape_errors = Counter(
            "buero_metrics_scrape_errors", "Scrapes whose database gauges could not be read.",
            registry=r)
        self._waiting: OrderedDict[str, float] = OrderedDict()
        self._seen_counts: dict[str, int] = {}

    # --- hooks ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def booking(self) -> Iterator[None]:
        """Count one booking request by how it ends (around the whole handler)."""
        try:
            yield
        except RateLimited:
            self.bookings.labels("rate_limited").inc()
            raise
        except SlotTaken:
            self.bookings.labels("slot_taken").inc()
            raise
        except (DomainError, HTTPException):
            self.bookings.labels("invalid").inc()
            raise
        self.bookings.labels("created").inc()

    def call_event(self, reference: str, event: str, role: str) -> None:
        """A signalling room event (see ``signaling.Event``) seen by this instance."""
        self.call_events.labels(event, role).inc()
        now = time.monotonic()
        if event == "joined" and role == "citizen":
            self._waiting.setdefault(reference, now)
            while len(self._waiting) > _ROOM_MEMORY:
                self._waiting.popitem(last=False)
        elif event == "connected":
            self.calls_connected.inc()
            since = self._waiting.pop(reference, None)
            if since is not None:
                self.call_setup.observe(now - since)
        elif (event == "ended" or (event == "left" and role == "citizen")) and (
            self._waiting.pop(reference, None) is not None
        ):
            self.calls_failed.inc()
        self.calls_waiting.set(len(self._waiting))

    # --- scrape ---------------------------------------------------------------------------------

    async def refresh(self, state: AppContext) -> None:
        """Read the database gauges (at scrape time)."""
        from booking.models import Appointment, Office
        from cases.models import Case as CaseFile
        from core.jobs import Job, JobStatus
        from postcall.dispatch_models import Dispatch
        from postcall.payments.models import PaymentAttempt, ProcessedWebhookEvent

        self._sync_rate_limits(state)
        async with state.db.transaction() as session:

            async def counts(*columns: Any, where: Any = None) -> list[Any]:
                stmt = select(*columns, func.count()).group_by(*columns)
                if where is not None:
                    stmt = stmt.where(where)
                return list((await session.execute(stmt)).all())

            # Done jobs pile up; counting them on every scrape is not worth it.
            open_jobs = await counts(col(Job.status),
                                     where=col(Job.status) != JobStatus.done.value)
            jobs = {row[0]: int(row[1]) for row in open_jobs}
            appointments = await counts(col(Appointment.status))
            by_town = list((await session.execute(
                select(col(Office.municipality_id), col(Appointment.status), func.count())
                .join(Office, col(Office.id) == col(Appointment.office_id))
                .group_by(col(Office.municipality_id), col(Appointment.status)))).all())
            attempts = await counts(col(PaymentAttempt.status))
            events = await counts(col(ProcessedWebhookEvent.event_type),
                                  col(ProcessedWebhookEvent.outcome))
            payment = await counts(col(CaseFile.payment_status))
            dispatch = await counts(col(CaseFile.dispatch_status))
            dispatches = await counts(col(Dispatch.status))
        for status in (JobStatus.pending, JobStatus.running, JobStatus.failed):
            self.jobs.labels(status.value).set(jobs.get(status.value, 0))
        self.job_queue_depth.set(jobs.get(JobStatus.pending.value, 0)
                                 + jobs.get(JobStatus.running.value, 0))
        _set_all(self.appointments, appointments)
        _set_all(self.municipality_appointments, by_town)
        _set_all(self.payment_attempts, attempts)
        _set_all(self.payment_events, events)
        _set_all(self.cases_payment, payment)
        _set_all(self.cases_dispatch, dispatch)
        _set_all(self.dispatches, dispatches)

    def _sync_rate_limits(self, state: AppContext) -> None:
        # The limiter counts refusals per rule and its Redis fallbacks itself (it knows no
        # metrics); carry them over.
        limiter = state.limiter
        for rule, total in dict(limiter.hits_by_rule).items():
            self._carry(self.rate_limit_hits.labels(rule), f"hits:{rule}", total)
        self._carry(self.rate_limit_fallbacks, "fallbacks", limiter.fallbacks)
        self._carry(self.rate_limit_in_memory, "in_memory", limiter.counted_in_memory)
        self.rate_limit_fallback.set(0 if limiter.away_since is None else 1)

    def _carry(self, counter: Counter, key: str, total: int) -> None:
        seen = self._seen_counts.get(key, 0)
        if total > seen:
            counter.inc(total - seen)
            self._seen_counts[key] = total

    async def render(self, state: AppContext) -> tuple[bytes, str]:
        """The exposition text; database gauges keep their last value if the read fails."""
        try:
            await self.refresh(state)
        except Exception as exc:  # a scrape must still answer while the database is down
            self.scrape_errors.inc()
            log.warning("metrics: database gauges unavailable: %s", type(exc).__name__)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _set_all(gauge: Gauge, rows: list[Any]) -> None:
    gauge.clear()  # a state that no longer occurs must not keep its old count
    for row in rows:
        *labels, count = row
        gauge.labels(*(str(label) for label in labels)).set(int(count))


def install(state: AppContext) -> Metrics:
    """Create the app's metrics (lifespan start); ``/metrics`` serves their registry."""
    metrics = Metrics()
    state.extras[METRICS_KEY] = metrics
    state.extras[REGISTRY_KEY] = metrics.registry
    return metrics


def metrics_of(state: AppContext) -> Metrics:
    """The app's metrics; a context without them (a bare worker process) gets its own."""
    found = state.extras.get(METRICS_KEY)
    if isinstance(found, Metrics):
        return found
    return install(state)
