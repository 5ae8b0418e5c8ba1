"""One appointment for several services and several people: its length, its availability, its
seats (nobody books inside it), the per-address limit counting every person, and what
``GET /api/v1/me`` lists."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.models import ScheduleService, Service
from booking.party_models import AppointmentPerson, AppointmentService
from tests.app.api.conftest import DAY, token_of
from tests.app.api.test_booking_race import fire, outcome
from tests.app.api.test_public_api import assert_error, booking, iso
from tests.booking.factories import World, add_schedule, add_service, appointments, local, seats
from tests.conftest import live_server

FAMILY = [{"given_name": "Max", "family_name": "Mustermann", "date_of_birth": "2015-04-01"},
          {"given_name": "Mia", "family_name": "Mustermann"}]


async def passport(db: Database, w: World, **values: Any) -> Service:
    """20 minutes, 10 more for each further person, on the world's schedule."""
    fields: dict[str, Any] = {"name": "Reisepass", "duration_minutes": 20,
                              "extra_person_minutes": 10, "fee_cents": 7000}
    fields.update(values)
    service = await add_service(db, [w.office], **fields)
    async with db.transaction(write=True) as session:
        assert service.id is not None and w.schedule.id is not None
        session.add(ScheduleService(schedule_id=w.schedule.id, service_id=service.id))
    return service


async def starts(client: httpx.AsyncClient, w: World, query: str) -> list[str]:
    r = await client.get(f"/api/v1/availability?office_id={w.office_id}&from={DAY}&to={DAY}"
                         f"&{query}")
    assert r.status_code == 200, r.text
    return [slot["start"][11:16] for slot in r.json()["slots"]]


async def test_a_family_of_three_takes_all_its_time_and_nobody_books_inside(
    client: httpx.AsyncClient, db: Database, seeded: World, app: Starlette
) -> None:
    p = await passport(db, seeded)
    # Someone else holds 10:00–10:15.
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 10), "a@x.de"))
    assert r.status_code == 201, r.text

    # 20 + 2 × 10 = 40 minutes: three 15-minute units, all free, before 12:00.
    free = await starts(client, seeded, f"service_ids={p.id}&persons=3")
    assert "09:15" in free and "10:15" in free and "11:15" in free
    assert not {"09:30", "09:45", "10:00", "11:30"} & set(free)
    alone = await starts(client, seeded, f"service_id={p.id}")
    assert {"09:30", "11:30"} <= set(alone) and "09:45" not in alone  # 20 minutes fit there

    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 10, 15), "eltern@x.de", service_id=None, service_ids=[p.id],
        persons=FAMILY))
    assert r.status_code == 201, r.text
    assert r.json()["end"][11:16] == "10:55"
    reference = r.json()["reference"]
    [family] = [a for a in await appointments(db) if a.reference == reference]
    assert family.service_id == p.id
    units = sorted(s.unit_start for s in await seats(db) if s.appointment_id == family.id)
    assert units == [local(DAY, 10, 15), local(DAY, 10, 30), local(DAY, 10, 45)]

    # Inside it: taken. Right after it: free.
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 10, 45), "b@x.de"))
    assert_error(r, 409, "slot_taken")
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 11), "b@x.de"))
    assert r.status_code == 201, r.text
    assert not {"10:15", "10:30", "10:45"} & set(await starts(client, seeded,
                                                              f"service_id={seeded.service_id}"))

    token = await token_of(app, db, reference)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    me = r.json()
    assert [s["id"] for s in me["services"]] == [p.id] and me["service"]["id"] == p.id
    assert [(x["person"], x["given_name"], x["date_of_birth"]) for x in me["persons"]] == [
        (1, "Erika", None), (2, "Max", "2015-04-01"), (3, "Mia", None)]


async def test_two_services_add_up_and_need_one_schedule_offering_both(
    client: httpx.AsyncClient, db: Database, seeded: World, app: Starlette
) -> None:
    p = await passport(db, seeded)
    # 20 + 15 = 35 minutes: the last start is 11:15 (11:30 would end after 12:00).
    free = await starts(client, seeded, f"service_ids={p.id},{seeded.service_id}")
    assert free[0] == "09:00" and free[-1] == "11:15"
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 9), service_id=None, service_ids=[p.id, seeded.service_id]))
    assert r.status_code == 201, r.text
    assert r.json()["end"][11:16] == "09:35"
    [row] = await appointments(db)
    async with db.transaction() as session:
        listed = (await session.execute(
            select(AppointmentService.service_id).where(
                AppointmentService.appointment_id == row.id)  # type: ignore[arg-type]
            .order_by(AppointmentService.position))).scalars().all()  # type: ignore[arg-type]
    assert list(listed) == [p.id, seeded.service_id]
    token = await token_of(app, db, row.reference)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert [s["id"] for s in r.json()["services"]] == [p.id, seeded.service_id]
    assert [x["person"] for x in r.json()["persons"]] == [1]

    # A service offered at the office but on another schedule: never together with these.
    other = await add_service(db, [seeded.office], name="Gewerbe", duration_minutes=15)
    await add_schedule(db, seeded.office, [other])
    assert await starts(client, seeded, f"service_ids={p.id},{other.id}") == []
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 11), "z@x.de", service_id=None, service_ids=[p.id, other.id]))
    assert_error(r, 422, "not_a_slot")

    # A move keeps the combined length.
    r = await client.post("/api/v1/me/reschedule", json={"start": iso(DAY, 10)},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["end"][11:16] == "10:35"


async def test_every_person_counts_toward_the_address_limit(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    p = await passport(db, seeded)
    # The default limit is three open appointments per address: three people use it up.
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 9), service_id=None, service_ids=[p.id], persons=FAMILY))
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 11)))
    assert_error(r, 409, "too_many_bookings")  # one appointment, but three people
    # One appointment of one person, then a family of three: four people in all.
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 11), "b@x.de"))
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 10), "b@x.de", service_id=None, service_ids=[p.id], persons=FAMILY))
    error = assert_error(r, 409, "too_many_bookings")
    assert "Person" in error["message"]  # German by default, and it says why
    # A family of four on an address without appointments: over the limit of three, but its
    # first appointment; then nothing more for that address.
    four = [*FAMILY, {"given_name": "Ben", "family_name": "Mustermann",
                      "date_of_birth": "2016-03-04"}]
    r = await client.get(f"/api/v1/availability?service_id={p.id}&office_id={seeded.office_id}"
                         f"&from={DAY}&to={DAY}&persons=4")
    assert r.status_code == 200 and r.json()["slots"], r.text
    start = r.json()["slots"][-1]["start"]  # a start where four people's length is free
    r = await client.post("/api/v1/appointments?lang=en", json=booking(
        seeded, start, "other@x.de", service_id=None, service_ids=[p.id], persons=four))
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/appointments", json=booking(seeded, start, "other@x.de"))
    assert_error(r, 409, "too_many_bookings")
    # More than BUERO_BOOKING_MAX_PERSONS (5) is refused for any address.
    six = [*four, *({"given_name": n, "family_name": "Mustermann", "date_of_birth": "2018-01-02"}
                    for n in ("Cem", "Dora"))]
    r = await client.post("/api/v1/appointments?lang=en", json=booking(
        seeded, start, "new@x.de", service_id=None, service_ids=[p.id], persons=six))
    error = assert_error(r, 422, "validation_error")
    assert "5 persons" in error["message"]
    r = await client.get(f"/api/v1/availability?service_id={p.id}&office_id={seeded.office_id}"
                         f"&from={DAY}&to={DAY}&persons=6")
    assert_error(r, 422, "validation_error")
    assert len(await appointments(db)) == 3


async def test_bad_combinations_are_422(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    p = await passport(db, seeded)
    for extra in (
        {"service_id": None},  # no service at all
        {"service_id": seeded.service_id, "service_ids": [p.id]},  # disagreeing
        {"service_id": None, "service_ids": [p.id, p.id]},
        {"service_id": None, "service_ids": [1, 2, 3, 4]},
        {"persons": [{"given_name": "Max"}]},
        {"persons": [{"given_name": "Max", "family_name": "M", "date_of_birth": "2999-01-01"}]},
    ):
        r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9), **extra))
        assert_error(r, 422, "validation_error")
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 9), service_id=None, service_ids=[p.id, 999_999]))
    assert_error(r, 404, "not_found")
    for query in (f"service_ids={p.id}&service_id={p.id}", "service_ids=1,x", "persons=0",
                  f"service_ids={p.id}&persons=21"):
        r = await client.get(f"/api/v1/availability?office_id={seeded.office_id}"
                             f"&from={DAY}&to={DAY}&{query}")
        assert_error(r, 422, "validation_error")
    assert await appointments(db) == []


async def test_a_plain_booking_still_works_with_service_id(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert r.status_code == 201 and r.json()["end"][11:16] == "09:15"
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(AppointmentService))
                ).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(AppointmentPerson))
                ).scalar_one() == 0


async def test_overlapping_family_and_single_bookings_race_for_one_unit(
    settings_factory: Callable[..., Settings], db: Database, seeded: World
) -> None:
    """Concurrent requests over real connections: the family's 45 minutes and a single
    booking inside them; exactly one gets the shared unit, however they interleave."""
    p = await passport(db, seeded)
    family = booking(seeded, iso(DAY, 9), "family@x.de", service_id=None,
                     service_ids=[p.id], persons=FAMILY)
    singles = [booking(seeded, iso(DAY, 9, 30), f"single{i}@x.de") for i in range(6)]
    async with live_server(create_app(settings_factory())) as base:
        responses = await fire(base, [family, *singles])
    counts = outcome(responses)
    assert counts[(201, "")] == 1 and counts[(409, "slot_taken")] == 6, counts
    booked = await appointments(db)
    units = Counter((s.schedule_id, s.unit_start) for s in await seats(db))
    assert all(n == 1 for n in units.values())  # capacity 1: never two seats in a unit
    assert len(booked) == 1
    assert booked[0].end_at - booked[0].start_at in (timedelta(minutes=40),
                                                      timedelta(minutes=15))
    assert booked[0].start_at in (datetime.fromisoformat(iso(DAY, 9)),
                                  datetime.fromisoformat(iso(DAY, 9, 30)))
