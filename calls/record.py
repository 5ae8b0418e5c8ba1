"""The call's moments for the office's figures (``call_record``), written where they happen.

The room's events (``calls.service.record_call_event``) set when the citizen first waited, was
first admitted, when the call started and when the clerk ended it; the clerk's browser reports
the media connection (``report_media``): connected directly or through the relay (TURN) and how
long it took, or an attempt that failed before it connected. Every moment is kept the first
time only, so repeated events (a reconnect, a second admission) change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from calls.models import CallRecord
from core.inserts import insert_unless_taken

Route = Literal["direct", "relay"]
# A set-up time beyond this is a stuck report, not a measurement (an hour, in ms).
MAX_SETUP_MS = 3_600_000


async def _record(session: AsyncSession, appointment_id: int) -> CallRecord:
    table = CallRecord.__table__  # type: ignore[attr-defined]
    await insert_unless_taken(session, table, ("appointment_id",),
                              {"appointment_id": appointment_id, "setup_failures": 0})
    found = (await session.execute(
        select(CallRecord).where(col(CallRecord.appointment_id) == appointment_id)
        .execution_options(populate_existing=True)
    )).scalar_one()
    return found


def _seconds(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds()))


async def note_event(session: AsyncSession, appointment_id: int, event: str, role: str,
                     now: datetime) -> None:
    """One room event's moment: ``joined`` (the citizen's), ``admitted``, ``connected`` (the
    call started), ``ended``. Others are not figures."""
    if not ((event == "joined" and role == "citizen")
            or event in ("admitted", "connected", "ended")):
        return
    record = await _record(session, appointment_id)
    if event == "joined":
        if record.waiting_at is None:
            record.waiting_at = now
    elif event == "admitted":
        if record.admitted_at is None:
            record.admitted_at = now
            record.wait_seconds = _seconds(record.waiting_at, now) or 0
    elif event == "connected":
        if record.started_at is None:
            record.started_at = now
    elif record.ended_at is None:
        record.ended_at = now
        record.call_seconds = _seconds(record.started_at, now)
    await session.flush()


async def report_media(session: AsyncSession, appointment_id: int, *, connected: bool,
                       route: Route | None, setup_ms: int | None) -> CallRecord:
    """The clerk's browser's report: connected (by ``route``, after ``setup_ms``) or an
    attempt that failed before it connected. The first connection is the one kept."""
    record = await _record(session, appointment_id)
    if not connected:
        if record.route is None:
            record.setup_failures += 1
    elif record.route is None:
        record.route = route or "direct"
        if setup_ms is not None:
            record.setup_ms = min(max(setup_ms, 0), MAX_SETUP_MS)
    await session.flush()
    return record
