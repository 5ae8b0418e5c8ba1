"""Claiming outbox jobs and recording their outcome: the database side of the worker
(``app/worker.py`` runs the loop and the handlers).

Claiming. A job is due when it is ``pending`` and ``run_after`` has passed, or ``running`` with
an expired lease (``locked_until``): the worker that held it crashed. Due jobs are claimed in one
short write transaction, which marks them ``running`` with a lease and the worker's name and
counts the attempt. On Postgres the rows are selected ``FOR UPDATE SKIP LOCKED``, so several
workers never claim the same job; on SQLite the write transaction (``BEGIN IMMEDIATE``)
serialises claimers instead.

Outcome. Every later write names the job, its ``running`` state and the claiming worker, so a
worker whose lease ran out (another took the job over) changes nothing.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.errors import NotFound, WrongState
from core.jobs import Job, JobStatus
from core.transactions import Transactions

log = logging.getLogger("buergerbuero.worker")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LINK = re.compile(r"/t/[A-Za-z0-9_-]+")
_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{40,}\b")


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Delay before the next try after ``attempts`` tries: base, 2×base, 4×base … at most
    ``cap``, each shortened by up to a quarter at random so retries of many jobs spread out."""
    exponential: float = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 40))
    return exponential * (0.75 + 0.25 * random.random())  # noqa: S311 - not for security


def describe_error(exc: BaseException) -> str:
    """Exception type and message with addresses, links and token-like strings removed, so it
    can be stored in ``job.last_error`` and logged."""
    text = f"{type(exc).__name__}: {exc}"
    text = _EMAIL.sub("<address>", text)
    text = _LINK.sub("/t/<token>", text)
    text = _TOKEN.sub("<token>", text)
    return text[:500]


async def claim(
    db: Transactions, worker: str, now: datetime, *, batch_size: int, lease_seconds: float,
    max_attempts: int, skip_locked: bool,
) -> list[Job]:
    """Claim up to ``batch_size`` due jobs for ``worker``; a job whose worker died on every
    attempt is marked failed instead."""
    due = or_(
        and_(col(Job.status) == JobStatus.pending, col(Job.run_after) <= now),
        and_(col(Job.status) == JobStatus.running, col(Job.locked_until) < now),
    )
    stmt = select(Job).where(due).order_by(col(Job.run_after), col(Job.id)).limit(batch_size)
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    claimed: list[Job] = []
    async with db.transaction(write=True) as session:
        for job in (await session.execute(stmt)).scalars().all():
            if job.attempts >= max_attempts:
                job.status = JobStatus.failed
                job.finished_at = now
                job.locked_until = None
                job.last_error = job.last_error or "gave up: the worker stopped on every try"
                log.warning("job %s (%s) failed after %d attempts", job.id, job.kind,
                            job.attempts)
                continue
            job.status = JobStatus.running
            job.attempts += 1
            job.locked_by = worker
            job.locked_until = now + timedelta(seconds=lease_seconds)
            claimed.append(job)
    return claimed


async def record(db: Transactions, job: Job, worker: str, **values: Any) -> bool:
    """Write the outcome of ``job`` if ``worker`` still holds it; False when the lease ran out
    and another worker took the job over."""
    mine = and_(col(Job.id) == job.id, col(Job.status) == JobStatus.running,
                col(Job.locked_by) == worker)
    async with db.transaction(write=True) as session:
        result = await session.execute(update(Job).where(mine).values(**values))
    if cast(CursorResult[Any], result).rowcount != 1:
        log.warning("job %s: lease lost before it was recorded", job.id)
        return False
    return True


async def keep(db: Transactions, job: Job, worker: str, now: datetime,
               lease_seconds: float) -> bool:
    """Before running a claimed job: renew its lease if the job could outlast it (a handler may
    take 80 % of a lease); False when another worker took the job over meanwhile."""
    lease = timedelta(seconds=lease_seconds)
    if job.locked_until is None or now + lease * 0.8 < job.locked_until:
        return True
    job.locked_until = now + lease
    return await record(db, job, worker, locked_until=job.locked_until)


# --- what an admin sees and does -----------------------------------------------------------------


async def failed_jobs(session: AsyncSession, limit: int = 200) -> list[Job]:
    """Jobs given up (permanently failed or out of attempts), newest first."""
    query = (select(Job).where(col(Job.status) == JobStatus.failed)
             .order_by(col(Job.finished_at).desc(), col(Job.id).desc()).limit(limit))
    return list((await session.execute(query)).scalars())


async def retry(session: AsyncSession, job_id: int, now: datetime) -> Job:
    """Give a failed job a new round of attempts, due now; ``NotFound`` for an unknown job,
    ``WrongState`` for one that is not failed."""
    job = await session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound()
    if job.status != JobStatus.failed:
        raise WrongState()
    job.status = JobStatus.pending.value
    job.attempts = 0
    job.run_after = now
    job.finished_at = None
    job.locked_until = None
    job.locked_by = None
    await session.flush()
    return job
