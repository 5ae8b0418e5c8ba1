"""The last place of a slot under fire: a real uvicorn, many concurrent bookings.

Capacity is enforced by the database (unique seat per slot unit); whatever the interleaving,
exactly the free places are handed out, everyone else gets 409 slot_taken, nobody a 5xx.
"""

from __future__ import annotations

import asyncio
import time as clock
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.links import LinkKeys
from booking.models import ACTIVE_STATUSES, Appointment
from booking.service import BookingPolicy, CitizenInput, book
from tests.app.api.conftest import DAY
from tests.app.api.test_public_api import booking, iso
from tests.booking.factories import World, add_office, add_schedule, add_service, world
from tests.conftest import live_server


async def fire(base: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send every booking at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        return list(await asyncio.gather(
            *(client.post("/api/v1/appointments", json=body) for body in bodies)
        ))


async def active(db: Database) -> list[Appointment]:
    async with db.transaction() as session:
        result = await session.execute(
            select(Appointment).where(Appointment.status.in_(list(ACTIVE_STATUSES)))  # type: ignore[attr-defined]
        )
        rows = list(result.scalars())
        session.expunge_all()
        return rows


def outcome(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    counts: Counter[tuple[int, str]] = Counter()
    for r in responses:
        code = r.json()["error"]["code"] if r.status_code >= 400 else ""
        counts[(r.status_code, code)] += 1
    return counts


async def race(
    settings_factory: Callable[..., Settings], bodies: list[dict[str, Any]]
) -> tuple[Counter[tuple[int, str]], float]:
    app = create_app(settings_factory())
    async with live_server(app) as base:
        started = clock.monotonic()
        responses = await fire(base, bodies)
        elapsed = clock.monotonic() - started
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses
                                                         if r.status_code >= 500][:3]
    return outcome(responses), elapsed


def bodies_for(w: World, start: str, n: int, prefix: str = "racer") -> list[dict[str, Any]]:
    return [booking(w, start, f"{prefix}{i}@example.com") for i in range(n)]


@pytest.mark.slow
async def test_last_place_of_a_slot(
    settings_factory: Callable[..., Settings], db: Database
) -> None:
    w = await world(db, capacity=2)
    # Take the first of two places, so the race is for the last one.
    async with db.transaction(write=True) as session:
        await book(session, LinkKeys(b"k"), BookingPolicy(), service_id=w.service_id,
                   office_id=w.office_id, start=datetime.fromisoformat(iso(DAY, 9)),
                   citizen=CitizenInput("Erste", "Person", "first@example.com"), locale="de")
    counts, _ = await race(settings_factory, bodies_for(w, iso(DAY, 9), 120))
    assert counts == Counter({(201, ""): 1, (409, "slot_taken"): 119})
    taken = [a for a in await active(db) if a.start_at == datetime.fromisoformat(iso(DAY, 9))]
    assert len(taken) == 2


@pytest.mark.slow
async def test_capacity_three(settings_factory: Callable[..., Settings], db: Database) -> None:
    w = await world(db, capacity=3)
    counts, _ = await race(settings_factory, bodies_for(w, iso(DAY, 10), 100))
    assert counts == Counter({(201, ""): 3, (409, "slot_taken"): 97})
    assert len(await active(db)) == 3


@pytest.mark.slow
async def test_overlapping_services_of_different_length(
    settings_factory: Callable[..., Settings], db: Database
) -> None:
    office = await add_office(db)
    short = await add_service(db, [office], name="kurz", duration_minutes=15)
    long_ = await add_service(db, [office], name="lang", duration_minutes=30)
    await add_schedule(db, office, [short, long_], capacity=1)
    w_short, w_long = World(office, short, None), World(office, long_, None)  # type: ignore[arg-type]
    # 30 minutes from 09:00 and 15 minutes from 09:15 share the 09:15 unit: one winner in all.
    bodies = [
        body
        for i in range(50)
        for body in (booking(w_long, iso(DAY, 9), f"long{i}@example.com"),
                     booking(w_short, iso(DAY, 9, 15), f"short{i}@example.com"))
    ]
    counts, _ = await race(settings_factory, bodies)
    assert counts == Counter({(201, ""): 1, (409, "slot_taken"): 99})
    [winner] = await active(db)
    assert winner.start_at <= datetime.fromisoformat(iso(DAY, 9, 15)) < winner.end_at


@pytest.mark.slow
async def test_a_thousand_requests_for_one_place(
    settings_factory: Callable[..., Settings], db: Database
) -> None:
    w = await world(db)
    counts, _ = await race(settings_factory, bodies_for(w, iso(DAY, 11), 1000))
    assert counts == Counter({(201, ""): 1, (409, "slot_taken"): 999})
    assert len(await active(db)) == 1

