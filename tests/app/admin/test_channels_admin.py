"""Admin API and admin pages for the appointment channels: which channels a service is offered
by (and what to bring), and whether a schedule's seats are shared or kept for one channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from booking.models import Schedule, Service
from tests.app.admin.test_pages import objects, submit
from tests.staff.helpers import (
    ADMIN_EMAIL,
    add_appointment,
    add_office,
    add_service,
    add_user,
    error_code,
    page_login,
)

SERVICES = "/api/v1/admin/services"
SCHEDULES = "/api/v1/admin/schedules"


@pytest.fixture
async def admin_client(app: Starlette, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    return client


def schedule_body(office: int, service: int, **extra: Any) -> dict[str, Any]:
    return {"office_id": office, "service_ids": [service], "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "start_time": "08:00", "end_time": "12:00", "valid_from": "2020-01-01", **extra}


async def test_service_channels_and_what_to_bring(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id = await add_office(app)
    r = await client.post(SERVICES, headers=admin_headers, json={
        "name": "Personalausweis", "office_ids": [office_id], "video": False, "onsite": True,
        "bring": "  Ein biometrisches Passfoto \n Den alten Ausweis "})
    assert r.status_code == 201, r.text
    service = r.json()
    assert (service["video"], service["onsite"], service["phone"]) == (False, True, False)
    assert service["bring"] == "Ein biometrisches Passfoto\nDen alten Ausweis"
    r = await client.patch(f"{SERVICES}/{service['id']}", headers=admin_headers,
                           json={"phone": True})
    assert r.status_code == 200 and r.json()["phone"] is True
    public = (await client.get("/api/v1/services")).json()
    assert [s["channels"] for s in public] == [["onsite", "phone"]]
    r = await client.patch(f"{SERVICES}/{service['id']}", headers=admin_headers,
                           json={"onsite": "ja"})
    assert r.status_code == 422


async def test_schedule_channel(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    r = await client.post(SCHEDULES, headers=admin_headers,
                          json=schedule_body(office_id, service_id))
    assert r.status_code == 201, r.text
    shared = r.json()
    assert shared["channel"] is None
    r = await client.post(SCHEDULES, headers=admin_headers,
                          json=schedule_body(office_id, service_id, channel="phone"))
    assert r.status_code == 201 and r.json()["channel"] == "phone"
    r = await client.post(SCHEDULES, headers={**admin_headers, "Accept-Language": "en"},
                          json=schedule_body(office_id, service_id, channel="fax"))
    assert r.status_code == 422 and error_code(r) == "validation_error"
    r = await client.patch(f"{SCHEDULES}/{shared['id']}", headers=admin_headers,
                           json={"channel": "onsite"})
    assert r.status_code == 200 and r.json()["channel"] == "onsite"
    r = await client.patch(f"{SCHEDULES}/{shared['id']}", headers=admin_headers,
                           json={"channel": None})
    assert r.status_code == 200 and r.json()["channel"] is None


async def test_a_schedule_keeps_the_channels_of_its_bookings(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A shared schedule with an upcoming video appointment cannot become phone-only."""
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    r = await client.post(SCHEDULES, headers=admin_headers,
                          json=schedule_body(office_id, service_id))
    schedule = r.json()
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9),
                                dt.UTC)
    await add_appointment(app, office_id=office_id, service_id=service_id, start=start,
                          schedule_id=schedule["id"])
    r = await client.patch(f"{SCHEDULES}/{schedule['id']}", headers=admin_headers,
                           json={"channel": "phone"})
    assert r.status_code == 409 and error_code(r) == "in_use"
    r = await client.patch(f"{SCHEDULES}/{schedule['id']}", headers=admin_headers,
                           json={"channel": "video"})
    assert r.status_code == 200, r.text


async def test_admin_forms(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    office_id = await add_office(app)
    page = await admin_client.get("/admin/services/new")
    for name in ("video", "onsite", "phone", "bring"):
        assert f'name="{name}"' in page.text
    r = await submit(admin_client, "/admin/services/new", {
        "name": "Führerschein", "duration_minutes": "20", "fee_cents": "0",
        "onsite": "yes", "phone": "yes", "bring": "Passfoto", "active": "yes",
        "office_ids": [str(office_id)]})
    assert r.status_code == 303, r.text
    [service] = await objects(app, Service)
    assert (service.video, service.onsite, service.phone, service.bring) == (
        False, True, True, "Passfoto")
    page = await admin_client.get("/admin/schedules/new")
    assert 'name="channel"' in page.text and "Für alle Wege ihrer Leistungen gemeinsam" in page.text
    data = {"office_id": str(office_id), "service_ids": [str(service.id)], "weekdays": ["0"],
            "start_time": "08:00", "end_time": "12:00", "slot_minutes": "15", "capacity": "1",
            "valid_from": "2026-01-01", "valid_until": ""}
    assert (await submit(admin_client, "/admin/schedules/new",
                         {**data, "channel": "onsite"})).status_code == 303
    assert (await submit(admin_client, "/admin/schedules/new",
                         {**data, "channel": ""})).status_code == 303
    assert sorted((s.channel or "") for s in await objects(app, Schedule)) == ["", "onsite"]
    r = await submit(admin_client, "/admin/schedules/new", {**data, "channel": "fax"})
    assert r.status_code == 422 and 'id="channel-error"' in r.text


async def test_the_service_form_sets_and_clears_the_minutes_per_further_person(
        app: Starlette, admin_client: httpx.AsyncClient) -> None:
    office_id = await add_office(app)
    page = await admin_client.get("/admin/services/new")
    assert 'name="extra_person_minutes"' in page.text
    assert "Minuten für jede weitere Person" in page.text
    data = {"name": "Reisepass", "duration_minutes": "20", "fee_cents": "0", "video": "yes",
            "sort_order": "0",
            "active": "yes", "office_ids": [str(office_id)]}
    r = await submit(admin_client, "/admin/services/new", {**data, "extra_person_minutes": "zehn"})
    assert r.status_code == 422 and 'id="extra_person_minutes-error"' in r.text
    assert await objects(app, Service) == []
    r = await submit(admin_client, "/admin/services/new", {**data, "extra_person_minutes": "10"})
    assert r.status_code == 303, r.text
    [service] = await objects(app, Service)
    assert service.extra_person_minutes == 10
    r = await submit(admin_client, f"/admin/services/{service.id}",
                     {**data, "extra_person_minutes": ""})
    assert r.status_code == 303, r.text
    [service] = await objects(app, Service)
    assert service.extra_person_minutes is None  # the whole duration again
