"""The admin's schedule form: no weekday is ticked in advance, only the services of the
schedule's office can be ticked, and an error names services, never their ids."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from booking.models import Schedule
from tests.app.admin.test_pages import objects, submit
from tests.staff.helpers import ADMIN_EMAIL, add_office, add_service, add_user, page_login


@pytest.fixture
async def admin_client(app: Starlette, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    return client


def ticked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" id="[^"]*" name="{name}" value="([^"]*)" checked',
                      html)


def choices(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" id="[^"]*" name="{name}" value="([^"]*)"', html)


async def test_new_schedule_ticks_no_weekday_and_asks_for_one(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    office = await add_office(app)
    service = await add_service(app, [office])
    page = (await admin_client.get("/admin/schedules/new")).text
    assert len(choices(page, "weekdays")) == 7 and ticked(page, "weekdays") == []
    data = {"office_id": str(office), "service_ids": [str(service)], "start_time": "08:00",
            "end_time": "12:00", "slot_minutes": "15", "capacity": "1",
            "valid_from": "2026-01-01", "valid_until": ""}
    r = await submit(admin_client, "/admin/schedules/new", data)
    assert r.status_code == 422 and 'id="weekdays-error"' in r.text
    assert "Bitte wählen Sie mindestens einen Wochentag aus." in r.text
    assert await objects(app, Schedule) == []
    r = await submit(admin_client, "/admin/schedules/new", {**data, "weekdays": ["5"]})
    assert r.status_code == 303
    [schedule] = await objects(app, Schedule)
    assert schedule.weekdays == "5"


async def test_only_the_office_services_are_offered_and_errors_name_them(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    mitte = await add_office(app, "Bürgerbüro Mitte")
    nord = await add_office(app, "Bürgerbüro Nord")
    here = await add_service(app, [mitte], name="Meldebescheinigung")
    there = await add_service(app, [nord], name="Führungszeugnis")
    # Office unknown (several offices): every service, named with its offices, marked for the
    # script that hides the others once an office is chosen.
    page = (await admin_client.get("/admin/schedules/new")).text
    assert set(choices(page, "service_ids")) == {str(here), str(there)}
    assert "Meldebescheinigung (Bürgerbüro Mitte)" in page
    assert f'data-offices="{nord}"' in page and "/static/js/admin-schedule.js" in page
    # Office known: only its services.
    page = (await admin_client.get(f"/admin/schedules/new?office_id={mitte}")).text
    assert choices(page, "service_ids") == [str(here)]
    assert "Führungszeugnis" not in page
    # A forged tick of the other office's service: refused by name, not by id.
    data = {"office_id": str(mitte), "service_ids": [str(here), str(there)],
            "weekdays": ["0"], "start_time": "08:00", "end_time": "12:00",
            "slot_minutes": "15", "capacity": "1", "valid_from": "2026-01-01",
            "valid_until": ""}
    r = await submit(admin_client, "/admin/schedules/new", data)
    assert r.status_code == 422 and 'id="service_ids-error"' in r.text
    assert "nicht angeboten: Führungszeugnis." in r.text
    assert f": {there}." not in r.text
    # The form that comes back lists only the chosen office's services.
    assert choices(r.text, "service_ids") == [str(here)]
    r = await submit(admin_client, "/admin/schedules/new", {**data, "service_ids": [str(here)]})
    assert r.status_code == 303
    [schedule] = await objects(app, Schedule)
    page = (await admin_client.get(f"/admin/schedules/{schedule.id}")).text
    assert choices(page, "service_ids") == [str(here)]
    assert ticked(page, "service_ids") == [str(here)]
