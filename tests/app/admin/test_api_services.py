"""Admin API: services."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from starlette.applications import Starlette

from tests.staff.helpers import (
    add_appointment,
    add_office,
    audit_events,
    error_code,
    next_weekday_at,
)

URL = "/api/v1/admin/services"


async def test_service_crud(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    a = await add_office(app, "Mitte")
    b = await add_office(app, "Nord")
    r = await client.post(URL, headers=admin_headers, json={
        "name": "Führungszeugnis", "name_en": "Certificate of good conduct",
        "duration_minutes": 20, "fee_cents": 1300, "video": True, "office_ids": [b, a, a],
        "fee_schedule_ref": "JVKostO Nr. 1130",
    })
    assert r.status_code == 201, r.text
    service = r.json()
    assert service["office_ids"] == sorted([a, b])
    assert service["currency"] == "EUR"
    assert service["active"] is True and service["requires_identity"] is True

    r = await client.patch(f"{URL}/{service['id']}", headers=admin_headers,
                           json={"office_ids": [a], "active": False, "fee_cents": 1500})
    assert r.status_code == 200
    assert r.json()["office_ids"] == [a]
    assert r.json()["active"] is False
    assert r.json()["fee_cents"] == 1500

    listed = (await client.get(URL, headers=admin_headers)).json()
    assert [s["id"] for s in listed] == [service["id"]]
    assert (await client.delete(f"{URL}/{service['id']}", headers=admin_headers)).status_code \
        == 204
    assert (await client.get(URL, headers=admin_headers)).json() == []

    update = await audit_events(app, "service.update")
    assert json.loads(update[0].detail) == {"fields": ["active", "fee_cents", "office_ids"]}
    assert len(await audit_events(app, "service.delete")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "duration_minutes": 4}, "duration_minutes"),
        ({"name": "A", "duration_minutes": 481}, "duration_minutes"),
        ({"name": "A", "fee_cents": -1}, "fee_cents"),
        ({"name": "A", "fee_cents": 12.5}, "fee_cents"),
        ({"name": "A", "currency": "USD"}, "currency"),
        ({"name": "A", "office_ids": [424242]}, "office_ids"),
        ({"name": "A", "office_ids": "1"}, "office_ids"),
        ({"name": "A", "video": "perhaps"}, "video"),
        ({"duration_minutes": 15}, "name"),
    ],
)
async def test_service_validation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, object],
    field: str,
) -> None:
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_duplicate_service_name(client: httpx.AsyncClient,
                                      admin_headers: dict[str, str]) -> None:
    assert (await client.post(URL, headers=admin_headers, json={"name": "Abmeldung"})) \
        .status_code == 201
    r = await client.post(URL, headers=admin_headers, json={"name": "ABMELDUNG"})
    assert r.status_code == 409


async def test_unknown_service_is_404(client: httpx.AsyncClient,
                                      admin_headers: dict[str, str]) -> None:
    assert (await client.patch(f"{URL}/4242", headers=admin_headers,
                               json={"name": "x"})).status_code == 404
    assert (await client.delete(f"{URL}/4242", headers=admin_headers)).status_code == 404


async def test_bookings_protect_a_service(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    a = await add_office(app, "Mitte")
    b = await add_office(app, "Nord")
    service = (await client.post(URL, headers=admin_headers,
                                 json={"name": "Anmeldung", "office_ids": [a, b]})).json()
    await add_appointment(app, office_id=a, service_id=service["id"],
                          start=next_weekday_at(9))
    r = await client.delete(f"{URL}/{service['id']}", headers=admin_headers)
    assert r.status_code == 409
    assert error_code(r) == "in_use"
    # Removing the office where it is booked is refused, removing the other one is fine.
    r = await client.patch(f"{URL}/{service['id']}", headers=admin_headers,
                           json={"office_ids": [b]})
    assert r.status_code == 409
    assert r.json()["error"]["message"]
    r = await client.patch(f"{URL}/{service['id']}", headers=admin_headers,
                           json={"office_ids": [a]})
    assert r.status_code == 200


async def test_past_bookings_keep_a_service_but_it_can_be_deactivated(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    a = await add_office(app, "Mitte")
    service = (await client.post(URL, headers=admin_headers,
                                 json={"name": "Anmeldung", "office_ids": [a]})).json()
    await add_appointment(app, office_id=a, service_id=service["id"], status="cancelled",
                          start=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    r = await client.delete(f"{URL}/{service['id']}", headers=admin_headers)
    assert r.status_code == 409
    r = await client.patch(f"{URL}/{service['id']}", headers=admin_headers,
                           json={"active": False})
    assert r.status_code == 200
