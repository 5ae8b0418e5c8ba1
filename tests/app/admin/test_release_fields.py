"""A schedule's release rule (``release_time``, ``release_days_ahead``) in the admin API and the
admin's schedule form: both or neither, each well-formed, errors beside their fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from booking.models import Schedule
from tests.app.admin.test_pages import objects, submit
from tests.staff.helpers import ADMIN_EMAIL, add_office, add_service, add_user, page_login

URL = "/api/v1/admin/schedules"


def body(office: int, service: int, **extra: Any) -> dict[str, Any]:
    return {"office_id": office, "service_ids": [service], "weekdays": [0, 1, 2, 3, 4],
            "start_time": "08:00", "end_time": "12:00", "valid_from": "2026-01-01", **extra}


def problems(r: httpx.Response) -> set[str]:
    return {d["field"] for d in r.json()["error"].get("details", [])}


async def with_rule(app: Starlette, client: httpx.AsyncClient, headers: dict[str, str],
                    ) -> tuple[int, int, dict[str, Any]]:
    """An office, a service and a schedule releasing at 07:00 three weeks ahead."""
    office = await add_office(app)
    service = await add_service(app, [office])
    r = await client.post(URL, headers=headers, json=body(
        office, service, release_time="07:00", release_days_ahead=21))
    assert r.status_code == 201, r.text
    return office, service, r.json()


async def test_api_keeps_and_clears_a_release_rule(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office, service, created = await with_rule(app, client, admin_headers)
    assert (created["release_time"], created["release_days_ahead"]) == ("07:00", 21)
    r = await client.patch(f"{URL}/{created['id']}", headers=admin_headers,
                           json={"release_days_ahead": 14})
    assert r.status_code == 200 and r.json()["release_days_ahead"] == 14
    r = await client.patch(f"{URL}/{created['id']}", headers=admin_headers,
                           json={"release_time": None, "release_days_ahead": None})
    assert r.status_code == 200, r.text
    assert (r.json()["release_time"], r.json()["release_days_ahead"]) == (None, None)
    r = await client.post(URL, headers=admin_headers, json=body(office, service))
    assert r.status_code == 201 and r.json()["release_time"] is None


@pytest.mark.parametrize("extra, field, message", [
    ({"release_time": "07:00"}, "release_days_ahead",
     "Bitte geben Sie an, wie viele Tage im Voraus die Termine freigegeben werden."),
    ({"release_days_ahead": 21}, "release_time",
     "Bitte geben Sie die Uhrzeit an, zu der die Termine freigegeben werden."),
    ({"release_time": "7 Uhr", "release_days_ahead": 21}, "release_time",
     "Bitte geben Sie eine Uhrzeit im Format HH:MM ein, zum Beispiel 09:30."),
    ({"release_time": "07:00", "release_days_ahead": 400}, "release_days_ahead",
     "Bitte geben Sie eine Zahl von 0 bis 365 ein."),
    ({"release_time": "07:00", "release_days_ahead": -1}, "release_days_ahead",
     "Bitte geben Sie eine Zahl von 0 bis 365 ein."),
])
async def test_api_refuses_a_half_or_malformed_rule(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str],
    extra: dict[str, Any], field: str, message: str,
) -> None:
    office = await add_office(app)
    service = await add_service(app, [office])
    r = await client.post(URL, headers=admin_headers, json=body(office, service, **extra))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert problems(r) == {field} and r.json()["error"]["message"] == message, r.text
    assert await objects(app, Schedule) == []


async def test_api_refuses_half_a_rule_left_by_a_change(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _, _, created = await with_rule(app, client, admin_headers)
    r = await client.patch(f"{URL}/{created['id']}", headers=admin_headers,
                           json={"release_time": None})
    assert r.status_code == 422 and "release_time" in problems(r)
    [schedule] = await objects(app, Schedule)
    assert schedule.release_days_ahead == 21 and schedule.release_time is not None


async def test_the_form_takes_the_rule_and_puts_errors_beside_the_fields(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    office = await add_office(app)
    service = await add_service(app, [office])
    page = (await client.get("/admin/schedules/new")).text
    assert 'name="release_time"' in page and 'name="release_days_ahead"' in page
    assert "Freigabe täglich um" in page
    data = {"office_id": str(office), "service_ids": [str(service)], "weekdays": ["0"],
            "start_time": "08:00", "end_time": "12:00", "slot_minutes": "15", "capacity": "1",
            "valid_from": "2026-01-01", "valid_until": "", "release_time": "07:00",
            "release_days_ahead": "drei"}
    r = await submit(client, "/admin/schedules/new", data)
    assert r.status_code == 422 and 'id="release_days_ahead-error"' in r.text
    assert "Bitte geben Sie eine ganze Zahl ein." in r.text
    assert await objects(app, Schedule) == []
    r = await submit(client, "/admin/schedules/new", {**data, "release_days_ahead": "21"})
    assert r.status_code == 303, r.text
    [schedule] = await objects(app, Schedule)
    assert (schedule.release_time.isoformat() if schedule.release_time else None,
            schedule.release_days_ahead) == ("07:00:00", 21)
    listed = (await client.get("/admin/schedules")).text
    assert "<th" in listed and "Freigabe</th>" in listed
    assert "täglich um 07:00, 21 Tage im Voraus" in listed
    # Emptied again: no release rule.
    r = await submit(client, f"/admin/schedules/{schedule.id}",
                     {**data, "release_time": "", "release_days_ahead": ""})
    assert r.status_code == 303, r.text
    [schedule] = await objects(app, Schedule)
    assert schedule.release_time is None and schedule.release_days_ahead is None
    listed = (await client.get("/admin/schedules")).text
    assert "alle sofort" in listed and "täglich um" not in listed.split("<table", 1)[1]
