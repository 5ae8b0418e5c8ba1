"""Admin API: offices."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from starlette.applications import Starlette

from tests.staff.helpers import (
    add_appointment,
    add_service,
    audit_events,
    error_code,
    next_weekday_at,
)

URL = "/api/v1/admin/offices"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


async def test_office_crud_and_audit(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(URL, headers=admin_headers, json={
        "name": "Bürgerbüro Nellingen", "timezone": "Europe/Berlin",
        "address": "Stadt Ostfildern\r\nOtto-Vatter-Straße 12\n73760 Ostfildern",
        "iban": GOOD_IBAN, "bic": "cobadeffxxx", "authority": "Stadt Ostfildern",
        "min_notice_minutes": 120, "horizon_days": 30, "email": "Buero@Stadt.Example",
    })
    assert r.status_code == 201, r.text
    office = r.json()
    assert office["iban"] == "DE89370400440532013000"
    assert office["bic"] == "COBADEFFXXX"
    assert office["address"] == "Stadt Ostfildern\nOtto-Vatter-Straße 12\n73760 Ostfildern"
    assert office["email"] == "buero@stadt.example"
    assert office["min_notice_minutes"] == 120

    minimal = await client.post(URL, headers=admin_headers, json={"name": "Zweigstelle"})
    assert minimal.status_code == 201
    assert minimal.json()["timezone"] == "Europe/Berlin"
    assert minimal.json()["horizon_days"] == 60

    listed = await client.get(URL, headers=admin_headers)
    assert [o["name"] for o in listed.json()] == ["Bürgerbüro Nellingen", "Zweigstelle"]
    one = await client.get(f"{URL}/{office['id']}", headers=admin_headers)
    assert one.json() == office

    r = await client.patch(f"{URL}/{office['id']}", headers=admin_headers,
                           json={"horizon_days": 90, "phone": "0711 123"})
    assert r.status_code == 200
    assert r.json()["horizon_days"] == 90
    assert r.json()["name"] == "Bürgerbüro Nellingen"  # untouched

    r = await client.delete(f"{URL}/{office['id']}", headers=admin_headers)
    assert r.status_code == 204
    assert (await client.get(f"{URL}/{office['id']}", headers=admin_headers)).status_code == 404

    create = await audit_events(app, "office.create")
    update = await audit_events(app, "office.update")
    delete = await audit_events(app, "office.delete")
    assert len(create) == 2 and len(update) == 1 and len(delete) == 1
    assert create[0].actor_type == "staff" and create[0].actor_label == "admin@stadt.example"
    assert create[0].actor_id is not None
    assert "iban" in json.loads(create[0].detail)["fields"]
    assert json.loads(update[0].detail) == {"fields": ["horizon_days", "phone"]}
    # Field names only, never the values.
    assert "DE89" not in create[0].detail
    assert update[0].object_id == str(office["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "A", "timezone": "localtime"}, "timezone"),
        ({"name": "A", "iban": "DE89 3704 0044 0532 0130 01"}, "iban"),
        ({"name": "A", "iban": "DE8937040044053201300"}, "iban"),
        ({"name": "A", "iban": "not an iban"}, "iban"),
        ({"name": "A", "bic": "COBA"}, "bic"),
        ({"name": "A", "email": "not-an-address"}, "email"),
        ({"name": "A", "min_notice_minutes": -1}, "min_notice_minutes"),
        ({"name": "A", "horizon_days": 0}, "horizon_days"),
        ({"name": "A", "horizon_days": "many"}, "horizon_days"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Line\nbreak"}, "name"),
        ({"timezone": "Europe/Berlin"}, "name"),
    ],
)
async def test_office_validation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, object],
    field: str,
) -> None:
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 422, r.text
    assert error_code(r) == "validation_error"
    assert r.json()["error"]["details"][0]["field"] == field


async def test_validation_message_in_request_language(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "A", "timezone": "Mars/Olympus"}
    german = await client.post(URL, headers=admin_headers, json=body)
    assert "Zeitzone" in german.json()["error"]["message"]
    english = await client.post(URL, headers={**admin_headers, "Accept-Language": "en"}, json=body)
    assert "time zone" in english.json()["error"]["message"]


async def test_every_field_error_reported_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(URL, headers=admin_headers,
                          json={"name": "A", "timezone": "X/Y", "iban": "DE00"})
    assert {d["field"] for d in r.json()["error"]["details"]} == {"timezone", "iban"}


async def test_patch_rejects_null_for_required_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office = (await client.post(URL, headers=admin_headers, json={"name": "A"})).json()
    r = await client.patch(f"{URL}/{office['id']}", headers=admin_headers, json={"name": None})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "name"


async def test_duplicate_name_is_409(client: httpx.AsyncClient,
                                     admin_headers: dict[str, str]) -> None:
    assert (await client.post(URL, headers=admin_headers, json={"name": "Mitte"})).status_code \
        == 201
    r = await client.post(URL, headers=admin_headers, json={"name": "mitte"})
    assert r.status_code == 409
    assert error_code(r) == "duplicate"
    other = (await client.post(URL, headers=admin_headers, json={"name": "Nord"})).json()
    r = await client.patch(f"{URL}/{other['id']}", headers=admin_headers, json={"name": "MITTE"})
    assert r.status_code == 409


@pytest.mark.parametrize("path", ["/999999", "/99999999999999999999"])
async def test_unknown_office_is_404(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                     path: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, URL + path, headers=admin_headers,
                                 json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, r.text)
        assert error_code(r) == "not_found"
    r = await client.get(URL + "/abc", headers=admin_headers)
    assert r.status_code == 404


async def test_body_errors(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.post(URL, headers={**admin_headers, "content-type": "application/json"},
                          content=b"{")
    assert r.status_code == 400
    r = await client.post(URL, headers=admin_headers, json=[1, 2])
    assert r.status_code == 422
    r = await client.post(URL, headers={**admin_headers, "content-type": "application/json"},
                          content=b'{"name": "' + b"x" * 70_000 + b'"}')
    assert r.status_code == 413


async def test_office_with_upcoming_appointment_cannot_be_deleted(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office = (await client.post(URL, headers=admin_headers, json={"name": "Mitte"})).json()
    service_id = await add_service(app, [office["id"]])
    await add_appointment(app, office_id=office["id"], service_id=service_id,
                          start=next_weekday_at(10))
    r = await client.delete(f"{URL}/{office['id']}", headers=admin_headers)
    assert r.status_code == 409
    assert error_code(r) == "in_use"
    assert "1" in r.json()["error"]["message"]
    # The time zone cannot move booked wall-clock times either.
    r = await client.patch(f"{URL}/{office['id']}", headers=admin_headers,
                           json={"timezone": "Europe/London"})
    assert r.status_code == 409
    # Other changes are fine.
    r = await client.patch(f"{URL}/{office['id']}", headers=admin_headers, json={"phone": "1"})
    assert r.status_code == 200
    assert (await client.get(f"{URL}/{office['id']}", headers=admin_headers)).status_code == 200


async def test_office_with_only_past_appointments_is_kept_as_record(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office = (await client.post(URL, headers=admin_headers, json={"name": "Mitte"})).json()
    service_id = await add_service(app, [office["id"]])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    await add_appointment(app, office_id=office["id"], service_id=service_id, start=past,
                          status="completed")
    r = await client.delete(f"{URL}/{office['id']}", headers=admin_headers)
    assert r.status_code == 409
    # With no upcoming appointments the time zone may change.
    r = await client.patch(f"{URL}/{office['id']}", headers=admin_headers,
                           json={"timezone": "Europe/Vienna"})
    assert r.status_code == 200


async def test_out_of_range_values_are_422_not_500(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    huge = 10**30
    cases = [
        ("/api/v1/admin/services", {"name": "A", "office_ids": [huge]}, "office_ids"),
        ("/api/v1/admin/services", {"name": "A", "office_ids": [0]}, "office_ids"),
        ("/api/v1/admin/closures", {"date": "2026-01-01", "office_id": huge}, "office_id"),
        ("/api/v1/admin/closures", {"date": "0001-01-01"}, "date"),
        ("/api/v1/admin/closures", {"date": "9999-12-31"}, "date"),
        ("/api/v1/admin/schedules", {"office_id": huge, "service_ids": [1],
                                     "start_time": "08:00", "end_time": "09:00"}, "office_id"),
        (URL, {"name": "A", "horizon_days": huge}, "horizon_days"),
        ("/api/v1/admin/users", {"email": "a@stadt.example", "password": "Vier-Kerzen-am-Tisch",
                                 "office_ids": [huge]}, "office_ids"),
    ]
    for url, body, field in cases:
        r = await client.post(url, headers=admin_headers, json=body)
        assert r.status_code == 422, (url, body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field


async def test_agenda_survives_extreme_dates(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from tests.staff.helpers import ADMIN_EMAIL, add_user, page_login

    await add_user(app, ADMIN_EMAIL, "admin")
    await page_login(client, ADMIN_EMAIL)
    for value in ("0001-01-01", "9999-12-31", "2026-02-30", "x" * 500):
        r = await client.get(f"/staff?date={value}&office_id=99999999999999999999")
        assert r.status_code == 200, value
        assert 'id="date-error"' in r.text
