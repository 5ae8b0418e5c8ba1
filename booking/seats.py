"""Seats: the database decides who gets the last place of a slot.

An appointment claims one ``slot_seat`` row per grid unit it covers. Seat numbers run from 0 to
capacity - 1; the unique key (schedule, unit, seat) plus ``CHECK (seat < capacity)`` make a
second claim of the same seat impossible, whatever the application does. A claim is an
``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: no row back means someone else holds that seat
(on PostgreSQL the insert waits for a concurrent claimer to commit or roll back first), so we try
the next seat number. There is deliberately no "count, then insert" in Python.

Units are claimed in ascending (unit, seat) order by every transaction, so two claimers can
never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.availability import Candidate, lapsed_hold
from booking.models import Appointment, SlotSeat
from core.inserts import insert_unless_taken

_CONFLICT_KEY = ("schedule_id", "unit_start", "seat")
_TABLE = SlotSeat.__table__  # type: ignore[attr-defined]


async def claim(session: AsyncSession, *, appointment_id: int, candidate: Candidate) -> bool:
    """Claim a seat in every unit of ``candidate``; False (and nothing claimed) when one is full."""
    claimed: list[int] = []
    for unit in candidate.units:
        seat_id: int | None = None
        for seat in range(candidate.capacity):
            seat_id = await insert_unless_taken(session, _TABLE, _CONFLICT_KEY, {
                "schedule_id": candidate.schedule_id,
                "unit_start": unit,
                "seat": seat,
                "capacity": candidate.capacity,
                "appointment_id": appointment_id,
            })
            if seat_id is not None:
                break
        if seat_id is None:
            if claimed:  # undo the units already taken, so another schedule can be tried
                await session.execute(delete(SlotSeat).where(col(SlotSeat.id).in_(claimed)))
            return False
        claimed.append(seat_id)
    return True


async def release(session: AsyncSession, appointment_ids: Sequence[int]) -> None:
    """Free every seat of these appointments (bookable again when the transaction commits)."""
    if appointment_ids:
        await session.execute(
            delete(SlotSeat).where(col(SlotSeat.appointment_id).in_(list(appointment_ids)))
        )


async def lapsed_holders(session: AsyncSession, candidate: Candidate, now: datetime) -> list[int]:
    """Appointments whose hold has lapsed and that still sit on a unit of ``candidate``.

    Locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a hold that another transaction (the worker,
    a confirmation) is handling right now is left to it; our insert then waits for that seat.
    """
    seat_owners = select(col(SlotSeat.appointment_id)).where(
        col(SlotSeat.schedule_id) == candidate.schedule_id,
        col(SlotSeat.unit_start).in_(list(candidate.units)),
    )
    result = await session.execute(
        select(col(Appointment.id))
        .where(col(Appointment.id).in_(seat_owners), lapsed_hold(now))
        .order_by(col(Appointment.id))
        .with_for_update(skip_locked=True)
    )
    return [i for i in result.scalars().all() if i is not None]
