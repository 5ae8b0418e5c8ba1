"""The background worker: runs outbox jobs (``core/jobs.py``) and periodic tasks.

Claiming and recording outcomes are ``core/outbox.py``. Handlers run outside the claim
transaction (never hold a lock during SMTP), each within a timeout shorter than the lease, so a
lease only expires when its worker is gone. Then a new transaction marks the job ``done``, or
reschedules it with exponential backoff and jitter, or marks it ``failed`` after
``job_max_attempts`` or on a ``PermanentJobError``.

Jobs of a claimed batch run one after another, each recorded as soon as it ends: delivery is
at-least-once, and the only window for a duplicate is between the SMTP server (or the letter
provider) accepting one job's message and that job's ``done`` commit, so a killed worker repeats
at most the one job it was finishing. A job whose lease would run out before it could end is
renewed first (or skipped when another worker took it over); when an outcome cannot be recorded
(database gone) the round stops rather than send more that could not be recorded. A retried mail
keeps its Message-ID, so mail systems that de-duplicate by it drop the copy.

Claiming sees every municipality's jobs; each handler then acts for its job's municipality
(``core.tenancy.acting_for``), and each periodic task runs once for every municipality, so
background work reads and writes only the objects of the municipality it works for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from accessibility.service import apply_retention as barrier_retention
from app.api import waitlist as waitlist_jobs
from app.api.links import request_policy
from app.mail_env import job_mail_env, mail_job, mailer_for
from app.payments import reconcile_task
from app.postcall_jobs import handlers as postcall_handlers
from app.postcall_jobs import periodic as postcall_periodic
from app.tasks import JobHandler, PeriodicTask
from booking.service import expire_holds
from core import outbox
from core.jobs import Job, JobStatus, PermanentJobError
from core.outage import OutageLog
from core.outbox import backoff_seconds, describe_error
from core.tenancy import acting_for, current_municipality
from core.types import utcnow
from idstatus.service import READY_MAIL_JOB, purge_collected
from mail.appointments import JOB_KIND as MAIL_KIND
from mail.appointments import send_appointment_mail
from mail.document_status import send_ready_mail
from mail.lost_links import send_links_mail
from mail.requests import JOB_KIND as REQUEST_MAIL_KIND
from mail.requests import send_request_mail
from monitoring.metrics import metrics_of
from online.lost_links import LINKS_MAIL_JOB
from online.requests import expire_unconfirmed
from privacy.requests import apply_retention as request_retention
from privacy.service import apply_retention
from tenants.service import retention_periods

if TYPE_CHECKING:
    from app.context import AppContext
    from app.settings import Settings

log = logging.getLogger("buergerbuero.worker")

def default_handlers() -> dict[str, JobHandler]:
    """Job kinds and their handlers. Other areas add theirs here."""
    return {MAIL_KIND: mail_job(send_appointment_mail),
            REQUEST_MAIL_KIND: mail_job(send_request_mail),
            LINKS_MAIL_JOB: mail_job(send_links_mail), READY_MAIL_JOB: ready_mail_job,
            **postcall_handlers(), **waitlist_jobs.handlers()}


async def ready_mail_job(ctx: AppContext, job: Job) -> None:
    # It opens the sealed address, hence the secret key.
    await send_ready_mail(await job_mail_env(ctx, job), ctx.secret_key, job)


async def document_status_task(ctx: AppContext) -> None:
    """Periodic: delete ID card / passport entries collected more than the keep days ago."""
    async with ctx.db.transaction(write=True) as session:
        count = await purge_collected(session, ctx.settings.document_status_keep_days)
    if count:
        log.info("document status: deleted %d entries collected long enough ago", count)


async def expire_holds_task(ctx: AppContext) -> None:
    """Release reserved appointments whose hold lapsed (their seats become bookable)."""
    async with ctx.db.transaction(write=True) as session:
        count = await expire_holds(session)
    if count:
        metrics_of(ctx).holds_expired.inc(count)
        log.info("released %d lapsed holds", count)


async def expire_requests_task(ctx: AppContext) -> None:
    """Online requests never confirmed through their link expire (as holds do)."""
    async with ctx.db.transaction(write=True) as session:
        count = await expire_unconfirmed(session, request_policy(ctx.settings))
    if count:
        log.info("expired %d unconfirmed online requests", count)


async def retention_task(ctx: AppContext) -> None:
    """Periodic: anonymise ended appointments and erase closed requests sent online past the
    retention period (unconfirmed requests sooner), each municipality by its own period (its
    ``retention_days``, else ``BUERO_RETENTION_DAYS``)."""
    async with ctx.db.transaction() as session:
        periods = await retention_periods(session, ctx.settings.retention_days,
                                          only=current_municipality())
    count = requests = reports = 0
    for municipality_id, days in periods:
        with acting_for(municipality_id):
            async with ctx.db.transaction(write=True) as session:
                count += await apply_retention(session, days)
                requests += await request_retention(session, days)
                reports += await barrier_retention(session, days, now=utcnow())
    if count:
        log.info("retention: anonymised %d appointments", count)
    if requests:
        log.info("retention: erased %d requests sent online", requests)
    if reports:
        log.info("retention: deleted %d barrier reports", reports)
    # Mails written to files (no SMTP host) are kept no longer than the rest.
    cutoff = utcnow() - timedelta(days=ctx.settings.retention_days)
    files = await asyncio.to_thread(mailer_for(ctx).expire_files, cutoff)
    if files:
        log.info("retention: deleted %d mail files", files)


def default_periodic(settings: Settings) -> list[PeriodicTask]:
    return [  # the waitlist's first: its lapsed offers go back without the hold's mail
        *waitlist_jobs.periodic(settings),
        PeriodicTask("expire_holds", settings.worker_periodic_seconds, expire_holds_task),
        PeriodicTask("expire_requests", settings.worker_periodic_seconds, expire_requests_task),
        PeriodicTask("payments.reconcile", settings.worker_periodic_seconds, reconcile_task),
        *postcall_periodic(settings),
        PeriodicTask("privacy.retention", settings.worker_periodic_seconds, retention_task),
        PeriodicTask("document_status.purge", settings.worker_periodic_seconds,
                     document_status_task),
    ]


def default_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        *,
        name: str | None = None,
        handlers: dict[str, JobHandler] | None = None,
        periodic: list[PeriodicTask] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.name = (name or default_name())[:100]
        self.handlers = handlers if handlers is not None else default_handlers()
        self.periodic = periodic if periodic is not None else default_periodic(ctx.settings)
        self.clock = clock
        self._stopping = asyncio.Event()
        self._outages = OutageLog(log)

    # --- one round ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim due jobs and run them one by one; returns how many were claimed."""
        jobs = await self._claim()
        for index, job in enumerate(jobs):
            try:
                if await outbox.keep(self.ctx.db, job, self.name, self.clock(),
                                     self.settings.job_lease_seconds):
                    await self._process(job)
            except Exception as exc:
                # Recording failed (database gone): this job's lease brings it back; the rest
                # go back now while the database lets us, else after their leases.
                self._outage(exc, f"recording job {job.id}")
                with contextlib.suppress(Exception):  # the same outage, logged above
                    for rest in jobs[index + 1:]:
                        await self._release(rest)
                break
        return len(jobs)

    async def _claim(self) -> list[Job]:
        s = self.settings
        return await outbox.claim(
            self.ctx.db, self.name, self.clock(), batch_size=s.worker_batch_size,
            lease_seconds=s.job_lease_seconds, max_attempts=s.job_max_attempts,
            skip_locked=not self.ctx.db.is_sqlite,
        )

    async def _process(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                # Maybe a newer worker knows it: retry with backoff rather than give up at once.
                raise LookupError(f"no handler for job kind {job.kind!r}")
            # The handler must end well before the lease does, or another worker would retry
            # the job while it still runs.
            # It acts for the job's municipality: its queries see that municipality's objects
            # only, what it adds (jobs, audit events, cases) is that municipality's.
            async with asyncio.timeout(self.settings.job_lease_seconds * 0.8):
                with acting_for(job.municipality_id):
                    await handler(self.ctx, job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(job))
            raise
        except Exception as exc:
            await self._failed(job, exc)
            return
        await self._done(job)

    async def _update(self, job: Job, **values: Any) -> bool:
        return await outbox.record(self.ctx.db, job, self.name, **values)

    async def _done(self, job: Job) -> None:
        await self._update(
            job, status=JobStatus.done, finished_at=self.clock(), locked_until=None,
            last_error=None,
        )

    async def _failed(self, job: Job, exc: Exception) -> None:
        s = self.settings
        error = describe_error(exc)
        now = self.clock()
        final = isinstance(exc, PermanentJobError) or job.attempts >= s.job_max_attempts
        metrics_of(self.ctx).job_failures.labels(job.kind, "true" if final else "false").inc()
        if final:
            log.warning("job %s (%s) failed for good on attempt %d: %s", job.id, job.kind,
                        job.attempts, error)
            await self._update(job, status=JobStatus.failed, finished_at=now, locked_until=None,
                               last_error=error)
            return
        delay = backoff_seconds(job.attempts, s.job_backoff_base_seconds,
                                s.job_backoff_max_seconds)
        log.warning("job %s (%s) failed on attempt %d, retry in %.1f s: %s", job.id, job.kind,
                    job.attempts, delay, error)
        await self._update(
            job, status=JobStatus.pending, run_after=now + timedelta(seconds=delay),
            locked_until=None, locked_by=None, last_error=error,
        )

    async def _release(self, job: Job) -> None:
        """Hand an interrupted job back at once (shutdown); the try does not count."""
        await self._update(
            job, status=JobStatus.pending, run_after=self.clock(), locked_until=None,
            locked_by=None, attempts=max(job.attempts - 1, 0),
        )

    # --- the loop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the current round, then leave ``run_forever``."""
        self._stopping.set()

    async def run_forever(self) -> None:
        log.info("worker %s started; mail goes to %s", self.name, mailer_for(self.ctx).describe())
        try:
            while not self._stopping.is_set():
                await self._run_periodic()
                try:
                    ran = await self.run_once()
                except Exception as exc:  # the database may be briefly unreachable
                    self._outage(exc, "claiming jobs")
                    ran = 0
                else:
                    self._outages.succeeded()
                if ran < self.settings.worker_batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(),
                                               self.settings.worker_poll_seconds)
        finally:
            log.info("worker %s stopped", self.name)

    async def _run_periodic(self) -> None:
        now = time.monotonic()
        for task in self.periodic:
            if now < task.next_at:
                continue
            task.next_at = now + task.interval
            try:  # for each municipality: its objects, and its jobs (tenants.scope)
                for municipality_id in await self.ctx.hosts.ids(self.ctx.db):
                    with acting_for(municipality_id):
                        await task.run(self.ctx)
            except Exception as exc:
                self._outage(exc, f"periodic task {task.name}")

    def _outage(self, exc: Exception, what: str) -> None:
        """A database outage is logged once while it lasts; anything else every time."""
        if not self._outages.record(exc, f"{what} ({self.name})"):
            log.warning("worker %s: %s failed: %s", self.name, what, describe_error(exc))
