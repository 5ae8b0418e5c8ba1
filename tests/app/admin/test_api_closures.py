"""Admin API: closures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from tests.staff.helpers import add_appointment, add_office, add_service, audit_events

URL = "/api/v1/admin/closures"
BERLIN = ZoneInfo("Europe/Berlin")


async def test_closure_crud_with_affected_appointments(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    mitte = await add_office(app, "Mitte")
    nord = await add_office(app, "Nord")
    service_id = await add_service(app, [mitte, nord])
    day = dt.date.today() + dt.timedelta(days=10)
    # 00:30 local time is still the day before in UTC: counted by the office's own day.
    early = dt.datetime.combine(day, dt.time(0, 30), BERLIN)
    await add_appointment(app, office_id=mitte, service_id=service_id, start=early)
    await add_appointment(app, office_id=mitte, service_id=service_id, status="cancelled",
                          start=dt.datetime.combine(day, dt.time(9), BERLIN))
    await add_appointment(app, office_id=nord, service_id=service_id,
                          start=dt.datetime.combine(day, dt.time(11), BERLIN))
    await add_appointment(app, office_id=mitte, service_id=service_id,
                          start=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 5),
                                                    BERLIN))

    r = await client.post(URL, headers=admin_headers,
                          json={"office_id": mitte, "date": day.isoformat(), "reason": "Umzug"})
    assert r.status_code == 201, r.text
    closure = r.json()
    assert closure["affected_appointments"] == 1
    assert closure["reason"] == "Umzug"

    everywhere = await client.post(URL, headers=admin_headers,
                                   json={"office_id": None, "date": day.isoformat()})
    assert everywhere.status_code == 201
    assert everywhere.json()["affected_appointments"] == 2
    assert everywhere.json()["office_id"] is None

    listed = (await client.get(URL, headers=admin_headers)).json()
    assert len(listed) == 2

    r = await client.patch(f"{URL}/{closure['id']}", headers=admin_headers,
                           json={"office_id": nord})
    assert r.status_code == 200
    assert r.json()["affected_appointments"] == 1
    assert (await client.delete(f"{URL}/{closure['id']}", headers=admin_headers)).status_code \
        == 204
    events = await audit_events(app, "closure.create")
    assert '"affected_appointments": 1' in events[0].detail


async def test_duplicate_closure_is_409(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id = await add_office(app)
    body = {"office_id": office_id, "date": "2026-12-24"}
    assert (await client.post(URL, headers=admin_headers, json=body)).status_code == 201
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 409
    # Another office or all offices on the same day is a different closure.
    r = await client.post(URL, headers=admin_headers, json={"date": "2026-12-24"})
    assert r.status_code == 201
    r = await client.post(URL, headers=admin_headers, json={"date": "2026-12-24"})
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "24.12.2026"}, "date"),
        ({"reason": "x"}, "date"),
        ({"date": "2026-12-24", "office_id": 4242}, "office_id"),
        ({"date": "2026-12-24", "reason": "x" * 301}, "reason"),
    ],
)
async def test_closure_validation(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                  body: dict[str, object], field: str) -> None:
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_unknown_closure_is_404(client: httpx.AsyncClient,
                                      admin_headers: dict[str, str]) -> None:
    assert (await client.delete(f"{URL}/77", headers=admin_headers)).status_code == 404
    assert (await client.patch(f"{URL}/77", headers=admin_headers, json={})).status_code == 404
