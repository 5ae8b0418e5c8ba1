"""The transactional outbox: background work written in the same transaction as its cause.

A job row is inserted by the service that causes it (a booking, a cancellation...) in the
request's transaction, so either both happen or neither. Workers claim due jobs, run them and
mark them done; a failure is retried with exponential backoff. See ``app/worker.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedByMunicipality, current_or_default, municipality_column
from core.types import UTCDateTime, utcnow


class JobStatus(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"  # gave up after the maximum number of attempts


class Job(SQLModel, OwnedByMunicipality, table=True):
    __tablename__ = "job"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50, index=True)
    payload: str = Field(default="{}", sa_type=Text)
    status: str = Field(default=JobStatus.pending, max_length=20, index=True)
    attempts: int = Field(default=0)
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The municipality the job works for (``core.tenancy``; its admins see it on /admin/jobs).
    # The worker's handler acts for it (``app.worker``), so the jobs it adds are that
    # municipality's too.
    municipality_id: int | None = Field(default=None,
                                        sa_column=municipality_column(nullable=True))

    def data(self) -> dict[str, Any]:
        value = json.loads(self.payload)
        assert isinstance(value, dict)
        return value


def job_values(
    kind: str, payload: dict[str, Any], *, run_after: datetime | None = None
) -> dict[str, Any]:
    """The columns of a new pending job."""
    return {
        "kind": kind,
        "payload": json.dumps(payload, sort_keys=True),
        "status": JobStatus.pending.value,
        "run_after": run_after or utcnow(),
        "municipality_id": current_or_default(),
    }


def enqueue(
    session: AsyncSession, kind: str, payload: dict[str, Any], *, run_after: datetime | None = None
) -> Job:
    """Add a job to the caller's transaction (it runs only if that transaction commits)."""
    job = Job(**job_values(kind, payload, run_after=run_after))
    session.add(job)
    return job


_INSERT = insert(Job.__table__)  # type: ignore[attr-defined]


async def enqueue_now(session: AsyncSession, jobs: list[dict[str, Any]]) -> None:
    """Insert jobs (``job_values``) at once, in the caller's transaction, without ORM objects."""
    if jobs:
        await session.execute(_INSERT, jobs)


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help: the job is marked failed at once."""


def payload_int(data: dict[str, object], key: str) -> int:
    """An integer field of a job's payload; a payload without it can never succeed."""
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PermanentJobError(f"job payload lacks {key}")
    return value
