"""A move and a booking that wait on each other's seats (PostgreSQL): the loser gets 409.

A moves 10:00 → 09:45 and has freed its 10:00 seat (uncommitted); B books 30 minutes from
09:45, takes the 09:45 seat and then waits for A's 10:00 seat; A then waits for B's 09:45
seat. PostgreSQL breaks the cycle by failing one of them; that one lost the race and must see
``SlotTaken``, never a database error.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from app.db import Database
from booking import seats as seats_module
from booking.availability import Candidate
from booking.links import LinkKeys
from booking.service import BookingPolicy, CitizenInput, book, find_by_token, reschedule
from core.errors import SlotTaken
from tests.booking.factories import add_office, add_schedule, add_service, appointments, local

MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 20, tzinfo=UTC)


async def lock_waiters(db: Database) -> int:
    """Sessions of the test's database waiting for a lock another transaction holds."""
    async with db.engine.connect() as conn:
        waiting: int = (await conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"))).scalar_one()
    return waiting


# SQLite serialises writers, so two claimers never overlap there: PostgreSQL only.
@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_deadlock_victim_gets_slot_taken(
    db: Database, links: LinkKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not db.is_sqlite
    office = await add_office(db)
    short = await add_service(db, [office], name="kurz", duration_minutes=15)
    long_ = await add_service(db, [office], name="lang", duration_minutes=30)
    await add_schedule(db, office, [short, long_], capacity=1)
    async with db.transaction(write=True) as session:
        moving = await book(session, links, BookingPolicy(), service_id=short.id,
                            office_id=office.id, start=local(MONDAY, 10), locale="de", now=NOW,
                            citizen=CitizenInput("A", "A", "a@example.com"))
    mover_id = moving.appointment.id

    a_freed, b_waits = asyncio.Event(), asyncio.Event()
    real_claim, real_insert = seats_module.claim, seats_module.insert_unless_taken

    async def claim(session: Any, *, appointment_id: int, candidate: Candidate) -> bool:
        if appointment_id == mover_id:  # A: old seat deleted; let B get going first
            a_freed.set()
            await b_waits.wait()
            async with asyncio.timeout(10):  # until B is blocked on our deleted 10:00 seat
                while await lock_waiters(db) == 0:
                    await asyncio.sleep(0.01)
        return await real_claim(session, appointment_id=appointment_id, candidate=candidate)

    async def insert_seat(session: Any, table: Any, keys: tuple[str, ...],
                          values: dict[str, Any], **options: Any) -> int | None:
        if values["appointment_id"] != mover_id and values["unit_start"] == local(MONDAY, 10):
            b_waits.set()  # B took 09:45 and is about to wait for 10:00
        return await real_insert(session, table, keys, values, **options)

    monkeypatch.setattr(seats_module, "claim", claim)
    monkeypatch.setattr(seats_module, "insert_unless_taken", insert_seat)

    async def mover() -> str:
        async with db.transaction(write=True) as session:
            a = await find_by_token(session, links, moving.token, now=NOW)
            try:
                await reschedule(session, BookingPolicy(), a, local(MONDAY, 9, 45), now=NOW)
            except SlotTaken:
                return "taken"
            return "moved"

    async def booker() -> str:
        await a_freed.wait()
        try:
            async with db.transaction(write=True) as session:
                await book(session, links, BookingPolicy(), service_id=long_.id,
                           office_id=office.id, start=local(MONDAY, 9, 45), locale="de",
                           now=NOW, citizen=CitizenInput("B", "B", "b@example.com"))
        except SlotTaken:
            return "taken"
        return "booked"

    results = await asyncio.wait_for(asyncio.gather(mover(), booker()), timeout=30)
    active = [a for a in await appointments(db) if a.status in ("reserved", "confirmed")]
    if results == ["moved", "taken"]:  # B was the victim
        assert [a.start_at for a in active] == [local(MONDAY, 9, 45)]
    else:  # A was the victim: its old seat comes back, so B cannot have 10:00 either
        assert results == ["taken", "taken"]
        assert [a.start_at for a in active] == [local(MONDAY, 10)]
