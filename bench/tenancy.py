"""What the municipalities' scope (``tenants/scope.py``) adds to each ORM statement of a request.

In-process on SQLite in memory (no network, so the scope's own cost is not hidden behind round
trips): the same indexed lookup of an appointment by reference, and the same join of a case's
appointments with their office, run for no municipality (the worker's view) and for a
municipality, in turns, so other load on the machine falls on both alike. Printed: the
CPU time per statement added by the scope (the median over the rounds), beside the statement's
own cost (the "ceiling" column).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import SQLModel, col

from bench.common import Figure, Report

STATEMENTS = 2000
ROUNDS = 5
# The scope may cost at most what the statement itself costs in memory (on a database server
# a statement also waits for its round trip, so the scope's share is smaller there).
TARGET_RATIO = 1.0


async def _per_statement(run: Callable[[], Awaitable[object]]) -> float:
    """CPU milliseconds per statement (process time: the time this process worked)."""
    for _ in range(100):
        await run()
    began = time.process_time()
    for _ in range(STATEMENTS):
        await run()
    return (time.process_time() - began) * 1000 / STATEMENTS


async def measure() -> dict[str, tuple[float, float]]:
    """Statement → (CPU ms without a municipality, CPU ms added by the scope)."""
    from app.main import create_app  # noqa: F401 (every model and the scope's listener)
    from booking.models import Appointment, Office
    from core.tenancy import acting_for
    from tenants import scope

    scope.install()
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    statements = {
        "by reference": select(Appointment).where(col(Appointment.reference) == "ABC-123"),
        "join with office": select(Appointment, Office)
        .join(Office, col(Office.id) == col(Appointment.office_id))
        .where(col(Appointment.case_id) == 7),
    }
    figures: dict[str, tuple[float, float]] = {}
    async with AsyncSession(engine) as session:
        for name, statement in statements.items():
            async def run(statement: object = statement) -> object:
                return (await session.execute(statement)).all()  # type: ignore[call-overload]

            bare, added = [], []
            for _ in range(ROUNDS):
                alone = await _per_statement(run)
                with acting_for(1):
                    scoped = await _per_statement(run)
                bare.append(alone)
                added.append(scoped - alone)
            figures[name] = statistics.median(bare), statistics.median(added)
    await engine.dispose()
    return figures


def run(report: Report) -> None:
    for name, (bare, added) in asyncio.run(measure()).items():
        report.add(Figure(f"municipality scope per statement [{name}]", added, "ms",
                          ceiling=bare, ratio=added / bare if bare else None,
                          target=f"<= {TARGET_RATIO} x the statement",
                          passed=added <= TARGET_RATIO * bare,
                          note=(f"CPU added per ORM statement; the statement alone "
                                f"{bare:.3f} ms; median of {ROUNDS} rounds of "
                                f"{STATEMENTS}, SQLite in memory")))
