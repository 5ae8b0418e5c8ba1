"""The outbox worker: claiming, leases, retries with backoff, several workers, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.all_models import metadata
from app.context import AppContext
from app.main import build_context
from app.settings import Settings
from app.tasks import PeriodicTask
from app.worker import Worker
from core.jobs import Job, JobStatus, PermanentJobError, enqueue
from core.outbox import backoff_seconds, describe_error
from tests.services import FAULTS, OwnPostgres

from .conftest import wait_for

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def _add_jobs(ctx: AppContext, n: int, *, kind: str = "test.record",
                    run_after: datetime | None = None) -> list[int]:
    async with ctx.db.transaction(write=True) as session:
        jobs = [enqueue(session, kind, {"n": i}, run_after=run_after) for i in range(n)]
        await session.flush()
        ids = [job.id for job in jobs]
    assert all(isinstance(i, int) for i in ids)
    return [i for i in ids if i is not None]


async def _jobs(ctx: AppContext) -> dict[int, Job]:
    async with ctx.db.transaction() as session:
        rows = (await session.execute(select(Job))).scalars().all()
        session.expunge_all()  # keep the loaded values after the read-only rollback
    return {job.id: job for job in rows if job.id is not None}


def _recorder(seen: list[int], delay: float = 0.0) -> Callable[[AppContext, Job], object]:
    async def handler(ctx: AppContext, job: Job) -> None:
        if delay:
            await asyncio.sleep(delay)
        assert job.id is not None
        seen.append(job.id)

    return handler


async def test_runs_due_jobs_once_and_leaves_future_ones(
    make_ctx: Callable[..., AppContext],
) -> None:
    ctx = make_ctx()
    clock = Clock(T0)
    due = await _add_jobs(ctx, 3, run_after=T0 - timedelta(seconds=1))
    later = await _add_jobs(ctx, 1, run_after=T0 + timedelta(minutes=5))
    seen: list[int] = []
    worker = Worker(ctx, name="w1", handlers={"test.record": _recorder(seen)}, periodic=[],
                    clock=clock)

    assert await worker.run_once() == 3
    assert sorted(seen) == due
    assert await worker.run_once() == 0
    jobs = await _jobs(ctx)
    for job_id in due:
        assert jobs[job_id].status == JobStatus.done
        assert jobs[job_id].finished_at == T0
        assert jobs[job_id].attempts == 1
        assert jobs[job_id].locked_until is None
    assert jobs[later[0]].status == JobStatus.pending

    clock.advance(301)
    assert await worker.run_once() == 1
    assert sorted(seen) == sorted(due + later)


async def test_failures_back_off_exponentially_then_give_up(
    make_ctx: Callable[..., AppContext],
) -> None:
    ctx = make_ctx(job_max_attempts=3, job_backoff_base_seconds=10, job_backoff_max_seconds=25)
    clock = Clock(T0)
    [job_id] = await _add_jobs(ctx, 1, run_after=T0)

    async def failing(ctx: AppContext, job: Job) -> None:
        raise RuntimeError("550 rejected erika@example.org for /t/" + "x" * 43)

    worker = Worker(ctx, name="w1", handlers={"test.record": failing}, periodic=[], clock=clock)

    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.pending and job.attempts == 1
    assert T0 + timedelta(seconds=7.5) <= job.run_after <= T0 + timedelta(seconds=10)
    assert job.last_error == "RuntimeError: 550 rejected <address> for /t/<token>"
    assert job.locked_by is None

    assert await worker.run_once() == 0  # not due yet
    clock.advance(10)
    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.attempts == 2
    assert clock.now + timedelta(seconds=15) <= job.run_after <= clock.now + timedelta(seconds=20)

    clock.advance(20)
    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.failed
    assert job.attempts == 3
    assert job.finished_at == clock.now
    clock.advance(3600)
    assert await worker.run_once() == 0


async def test_permanent_error_fails_at_once(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx()
    [job_id] = await _add_jobs(ctx, 1)

    async def broken(ctx: AppContext, job: Job) -> None:
        raise PermanentJobError("payload cannot be handled")

    worker = Worker(ctx, name="w1", handlers={"test.record": broken}, periodic=[])
    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.failed and job.attempts == 1
    assert job.last_error == "PermanentJobError: payload cannot be handled"


async def test_unknown_kind_is_retried_later(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx()
    [job_id] = await _add_jobs(ctx, 1, kind="test.unknown")
    worker = Worker(ctx, name="w1", handlers={}, periodic=[])
    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.pending
    assert "no handler for job kind 'test.unknown'" in (job.last_error or "")


async def test_job_of_a_crashed_worker_is_taken_over_after_its_lease(
    make_ctx: Callable[..., AppContext],
) -> None:
    ctx = make_ctx(job_max_attempts=3)
    clock = Clock(T0)
    async with ctx.db.transaction(write=True) as session:
        expired = Job(kind="test.record", status=JobStatus.running, attempts=1, locked_by="dead",
                      locked_until=T0 - timedelta(seconds=1), run_after=T0 - timedelta(minutes=5))
        leased = Job(kind="test.record", status=JobStatus.running, attempts=1, locked_by="alive",
                     locked_until=T0 + timedelta(minutes=1), run_after=T0 - timedelta(minutes=5))
        hopeless = Job(kind="test.record", status=JobStatus.running, attempts=3, locked_by="dead",
                       locked_until=T0 - timedelta(seconds=1), run_after=T0 - timedelta(hours=1))
        session.add_all([expired, leased, hopeless])
    seen: list[int] = []
    worker = Worker(ctx, name="w2", handlers={"test.record": _recorder(seen)}, periodic=[],
                    clock=clock)
    assert await worker.run_once() == 1
    assert seen == [expired.id]
    jobs = await _jobs(ctx)
    assert jobs[expired.id].status == JobStatus.done  # type: ignore[index]
    assert jobs[expired.id].attempts == 2  # type: ignore[index]
    assert jobs[leased.id].status == JobStatus.running  # type: ignore[index]
    assert jobs[leased.id].locked_by == "alive"  # type: ignore[index]
    assert jobs[hopeless.id].status == JobStatus.failed  # type: ignore[index]


async def test_a_lost_lease_is_not_overwritten(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx()
    [job_id] = await _add_jobs(ctx, 1)

    async def slow(ctx: AppContext, job: Job) -> None:
        # Meanwhile another worker took the job over (as after an expired lease).
        async with ctx.db.transaction(write=True) as session:
            row = await session.get(Job, job.id)
            assert row is not None
            row.locked_by = "other"

    worker = Worker(ctx, name="w1", handlers={"test.record": slow}, periodic=[])
    assert await worker.run_once() == 1
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.running and job.locked_by == "other"


async def test_several_workers_run_every_job_exactly_once(
    make_ctx: Callable[..., AppContext],
) -> None:
    contexts = [make_ctx(worker_batch_size=4) for _ in range(3)]
    ids = await _add_jobs(contexts[0], 60)
    seen: list[int] = []
    ran_by: dict[str, int] = {}

    async def drain(worker: Worker) -> None:
        idle = 0
        while idle < 3:
            ran = await worker.run_once()
            ran_by[worker.name] = ran_by.get(worker.name, 0) + ran
            idle = idle + 1 if ran == 0 else 0
            await asyncio.sleep(0)

    workers = [
        Worker(c, name=f"w{i}", handlers={"test.record": _recorder(seen, delay=0.005)},
               periodic=[])
        for i, c in enumerate(contexts)
    ]
    await asyncio.gather(*(drain(w) for w in workers))
    assert sorted(seen) == sorted(ids)  # each job exactly once
    jobs = await _jobs(contexts[0])
    assert all(job.status == JobStatus.done and job.attempts == 1 for job in jobs.values())
    assert sum(ran_by.values()) == 60


async def test_cancelled_worker_hands_its_job_back(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx()
    [job_id] = await _add_jobs(ctx, 1)
    started = asyncio.Event()

    async def forever(ctx: AppContext, job: Job) -> None:
        started.set()
        await asyncio.sleep(3600)

    worker = Worker(ctx, name="w1", handlers={"test.record": forever}, periodic=[])
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(started.wait(), 10)
    assert (await _jobs(ctx))[job_id].status == JobStatus.running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    job = (await _jobs(ctx))[job_id]
    assert job.status == JobStatus.pending
    assert job.attempts == 0 and job.locked_by is None


async def test_run_forever_runs_jobs_and_periodic_tasks_and_stops(
    make_ctx: Callable[..., AppContext],
) -> None:
    ctx = make_ctx(worker_poll_seconds=0.02)
    seen: list[int] = []
    ticks: list[float] = []

    async def tick(ctx: AppContext) -> None:
        ticks.append(asyncio.get_running_loop().time())
        if len(ticks) == 2:
            raise RuntimeError("a failing periodic task does not stop the worker")

    worker = Worker(ctx, name="w1", handlers={"test.record": _recorder(seen)},
                    periodic=[PeriodicTask("tick", 0.05, tick)])
    task = asyncio.create_task(worker.run_forever())
    ids = await _add_jobs(ctx, 5)
    await wait_for(lambda: len(seen) == 5 and len(ticks) >= 4, 10, "jobs and ticks")
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert sorted(seen) == ids
    assert all(b - a >= 0.04 for a, b in itertools.pairwise(ticks))


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempts, low, high in [(1, 7.5, 10), (2, 15, 20), (3, 30, 40), (4, 60, 80)]:
        values = [backoff_seconds(attempts, 10, 3600) for _ in range(50)]
        assert all(low <= v <= high for v in values)
        assert len(set(values)) > 1  # jittered
    assert all(backoff_seconds(30, 10, 3600) <= 3600 for _ in range(50))
    assert backoff_seconds(10_000, 10, 3600) <= 3600


def test_describe_error_removes_personal_data() -> None:
    token = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
    text = describe_error(ValueError(f"to max.muster+x@mail.example.org link /t/{token} {token}"))
    assert text.startswith("ValueError: ")
    assert "max.muster" not in text and token not in text
    assert len(describe_error(ValueError("x" * 5000))) <= 500


@pytest.mark.parametrize("payload", [{"appointment_id": "x", "template": "confirmed"},
                                     {"template": "confirmed"},
                                     {"appointment_id": 1, "template": "welcome"}])
async def test_malformed_mail_jobs_fail_for_good(
    make_ctx: Callable[..., AppContext], payload: dict[str, object],
) -> None:
    ctx = make_ctx()
    async with ctx.db.transaction(write=True) as session:
        job = enqueue(session, "mail.appointment", payload)
    worker = Worker(ctx, name="w1", periodic=[])
    assert await worker.run_once() == 1
    row = (await _jobs(ctx))[job.id]  # type: ignore[index]
    assert row.status == JobStatus.failed
    assert row.last_error is not None and row.last_error.startswith("PermanentMailError")
    assert json.loads(row.payload) == payload


async def test_jobs_of_a_batch_run_one_after_another(make_ctx: Callable[..., AppContext]) -> None:
    """At most one job is ever between its effect (a mail accepted) and its record."""
    ctx = make_ctx()
    ids = await _add_jobs(ctx, 4)
    running: list[int] = []
    most = 0
    recorded_before: dict[int, set[int]] = {}

    async def handler(ctx: AppContext, job: Job) -> None:
        nonlocal most
        assert job.id is not None
        running.append(job.id)
        most = max(most, len(running))
        done = {i for i, j in (await _jobs(ctx)).items() if j.status == JobStatus.done}
        recorded_before[job.id] = done
        await asyncio.sleep(0.01)
        running.remove(job.id)

    worker = Worker(ctx, name="w1", handlers={"test.record": handler}, periodic=[])
    assert await worker.run_once() == 4
    assert most == 1
    # Each job found every earlier one already recorded.
    assert [recorded_before[i] for i in ids] == [set(ids[:n]) for n in range(4)]


async def test_a_lease_that_could_run_out_is_renewed_and_a_lost_job_skipped(
    make_ctx: Callable[..., AppContext],
) -> None:
    ctx = make_ctx(job_lease_seconds=300)
    clock = Clock(T0)
    first, second, third = await _add_jobs(ctx, 3, run_after=T0)
    seen: list[int] = []
    leases: dict[int, datetime | None] = {}

    async def slow(ctx: AppContext, job: Job) -> None:
        assert job.id is not None
        seen.append(job.id)
        leases[job.id] = (await _jobs(ctx))[job.id].locked_until
        if job.id == first:
            clock.advance(250)  # the next job has 50 s of its lease left: too little
            # Meanwhile another worker took the third job over (its lease had run out there).
            async with ctx.db.transaction(write=True) as session:
                row = await session.get(Job, third)
                assert row is not None
                row.locked_by = "other"

    worker = Worker(ctx, name="w1", handlers={"test.record": slow}, periodic=[], clock=clock)
    assert await worker.run_once() == 3
    assert seen == [first, second]  # the third is the other worker's now
    assert leases[first] == T0 + timedelta(seconds=300)
    assert leases[second] == T0 + timedelta(seconds=550)  # renewed before it ran
    jobs = await _jobs(ctx)
    assert jobs[first].status == jobs[second].status == JobStatus.done
    assert jobs[third].status == JobStatus.running and jobs[third].locked_by == "other"


@FAULTS
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # replaced by its own PostgreSQL
async def test_when_an_outcome_cannot_be_recorded_the_round_stops(
    settings_factory: Callable[..., Settings], own_postgres: OwnPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database goes away right after a job's effect: the worker sends nothing more that it
    could not record either, and says so in one line."""
    engine = create_async_engine(own_postgres.url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    ctx = build_context(settings_factory(database_url=own_postgres.url))
    try:
        first, *_ = await _add_jobs(ctx, 3)
        seen: list[int] = []

        async def database_goes(ctx: AppContext, job: Job) -> None:
            assert job.id is not None
            seen.append(job.id)
            await asyncio.to_thread(own_postgres.stop)

        worker = Worker(ctx, name="w1", handlers={"test.record": database_goes}, periodic=[])
        assert await worker.run_once() == 3
        assert seen == [first]
        await asyncio.to_thread(own_postgres.start)
        jobs = await _jobs(ctx)
        assert all(job.status == JobStatus.running for job in jobs.values())  # their leases run
    finally:
        await ctx.db.dispose()
    lines = [r for r in caplog.records if r.name == "buergerbuero.worker"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert lines[0].getMessage().startswith(f"database unreachable (ConnectionRefusedError) during "
                                            f"recording job {first} (w1)")
