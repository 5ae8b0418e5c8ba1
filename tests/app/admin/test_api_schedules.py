"""Admin API: weekly schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from booking.models import SlotSeat
from tests.staff.helpers import (
    add_appointment,
    add_office,
    add_service,
    audit_events,
    context,
    error_code,
    next_weekday_at,
)

URL = "/api/v1/admin/schedules"
BERLIN = ZoneInfo("Europe/Berlin")


async def _setup(app: Starlette) -> tuple[int, int]:
    office_id = await add_office(app)
    return office_id, await add_service(app, [office_id])


def _body(office: int, service: int, **extra: Any) -> dict[str, Any]:
    return {"office_id": office, "service_ids": [service], "weekdays": [0, 2, 4],
            "start_time": "08:30", "end_time": "12:00", "capacity": 2,
            "valid_from": "2026-01-01", "valid_until": None, **extra}


async def test_schedule_crud(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id, service_id = await _setup(app)
    r = await client.post(URL, headers=admin_headers, json=_body(office_id, service_id,
                                                                 weekdays=[4, 0, 2, 2]))
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["weekdays"] == [0, 2, 4]
    assert schedule["start_time"] == "08:30" and schedule["end_time"] == "12:00"
    assert schedule["slot_minutes"] == 15
    assert schedule["service_ids"] == [service_id]
    assert schedule["valid_until"] is None

    r = await client.patch(f"{URL}/{schedule['id']}", headers=admin_headers,
                           json={"end_time": "13:00", "valid_until": "2026-12-31"})
    assert r.status_code == 200
    assert r.json()["end_time"] == "13:00" and r.json()["valid_until"] == "2026-12-31"
    assert len((await client.get(URL, headers=admin_headers)).json()) == 1
    assert (await client.delete(f"{URL}/{schedule['id']}", headers=admin_headers)).status_code \
        == 204
    assert (await client.get(f"{URL}/{schedule['id']}", headers=admin_headers)).status_code \
        == 404
    assert len(await audit_events(app, "schedule.create")) == 1
    assert len(await audit_events(app, "schedule.delete")) == 1


async def test_valid_from_defaults_to_today(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id, service_id = await _setup(app)
    body = _body(office_id, service_id)
    del body["valid_from"], body["weekdays"], body["capacity"]
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 201
    assert r.json()["weekdays"] == [0, 1, 2, 3, 4]
    assert r.json()["capacity"] == 1
    today = dt.date.fromisoformat(r.json()["valid_from"])
    assert abs((today - dt.date.today()).days) <= 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"end_time": "08:30"}, "end_time"),
        ({"start_time": "9:00"}, "start_time"),
        ({"start_time": "25:00"}, "start_time"),
        ({"weekdays": [7]}, "weekdays"),
        ({"weekdays": []}, "weekdays"),
        ({"capacity": 0}, "capacity"),
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 240}, "slot_minutes"),
        ({"valid_until": "2025-12-31"}, "valid_until"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"office_id": 4242}, "office_id"),
        ({"service_ids": [4242]}, "service_ids"),
        ({"service_ids": []}, "service_ids"),
    ],
)
async def test_schedule_validation(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str],
    extra: dict[str, Any], field: str,
) -> None:
    office_id, service_id = await _setup(app)
    r = await client.post(URL, headers=admin_headers, json=_body(office_id, service_id, **extra))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_service_must_be_offered_at_the_office(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id, _service = await _setup(app)
    other_office = await add_office(app, "Nord")
    elsewhere = await add_service(app, [other_office], name="Abmeldung")
    r = await client.post(URL, headers=admin_headers, json=_body(office_id, elsewhere))
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "service_ids"


async def test_changes_that_would_strand_bookings_are_refused(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id, service_id = await _setup(app)
    schedule = (await client.post(URL, headers=admin_headers, json=_body(
        office_id, service_id, weekdays=list(range(7)), start_time="08:00", end_time="12:00",
        capacity=3))).json()
    start = next_weekday_at(10, 0)
    appointment_id, _token = await add_appointment(
        app, office_id=office_id, service_id=service_id, schedule_id=schedule["id"], start=start)
    async with context(app).db.transaction(write=True) as session:
        session.add(SlotSeat(schedule_id=schedule["id"], unit_start=start, seat=2, capacity=3,
                             appointment_id=appointment_id))
    url = f"{URL}/{schedule['id']}"
    for change in ({"start_time": "10:30"}, {"end_time": "10:00"},
                   {"weekdays": [(start.astimezone(BERLIN).weekday() + 1) % 7]},
                   {"slot_minutes": 45}, {"capacity": 2}, {"valid_until": "2026-01-02"}):
        r = await client.patch(url, headers=admin_headers, json=change)
        assert r.status_code == 409, (change, r.text)
        assert error_code(r) == "in_use"
    assert (await client.delete(url, headers=admin_headers)).status_code == 409
    # Changes that keep the booking in place are fine.
    r = await client.patch(url, headers=admin_headers, json={"end_time": "16:00",
                                                             "slot_minutes": 30})
    assert r.status_code == 200, r.text
