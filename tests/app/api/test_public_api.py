"""Public API: offices, services, availability and booking, with every error case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.settings import Settings
from core.jobs import Job
from tests.app.api.conftest import DAY
from tests.booking.factories import (
    BERLIN,
    World,
    add_closure,
    add_office,
    add_schedule,
    add_service,
    appointments,
    local,
)
from tests.booking.factories import world as world_with
from tests.conftest import running


def iso(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).isoformat()


def booking(w: World, start: str, email: str = "erika@example.com", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": w.service_id,
        "office_id": w.office_id,
        "start": start,
        "citizen": {"given_name": "Erika", "family_name": "Mustermann", "email": email},
        "locale": "de",
    }
    body.update(extra)
    return body


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


# --- offices and services ----------------------------------------------------------------------


async def test_offices(client: httpx.AsyncClient, seeded: World) -> None:
    r = await client.get("/api/v1/offices")
    assert r.status_code == 200
    [office] = r.json()
    assert office["id"] == seeded.office_id
    assert office["timezone"] == "Europe/Berlin"
    assert office["name"] == "Bürgerbüro Test"
    assert "iban" not in office


async def test_services_and_office_filter(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    other = await add_office(db, name="Zweigstelle")
    await add_service(db, [other], name="Führungszeugnis", name_en="Certificate of good conduct",
                      duration_minutes=30, fee_cents=1300, sort_order=1)
    await add_service(db, [seeded.office], name="Alt", active=False)
    r = await client.get("/api/v1/services")
    assert r.status_code == 200
    services = r.json()
    assert [s["name"] for s in services] == ["Meldebescheinigung", "Führungszeugnis"]
    first = services[0]
    assert first == {
        "id": seeded.service_id, "name": "Meldebescheinigung", "description": "",
        "duration_minutes": 15, "fee_cents": 500, "currency": "EUR", "video": True,
        "channels": ["video"], "bring": "",
        "requires_identity": True, "postal_address_required": False,
        "office_ids": [seeded.office_id],
    }
    r = await client.get(f"/api/v1/services?office_id={other.id}&lang=en")
    assert [(s["name"], s["fee_cents"]) for s in r.json()] == [
        ("Certificate of good conduct", 1300)
    ]
    assert_error(await client.get("/api/v1/services?office_id=999"), 404, "not_found")
    assert_error(await client.get("/api/v1/services?office_id=abc"), 422, "validation_error")
    assert_error(await client.get("/api/v1/services?office_id=0"), 422, "validation_error")


# --- availability ------------------------------------------------------------------------------


async def test_availability_shape_and_offsets(client: httpx.AsyncClient, seeded: World) -> None:
    r = await client.get("/api/v1/availability", params={
        "service_id": seeded.service_id, "office_id": seeded.office_id,
        "from": DAY.isoformat(), "to": DAY.isoformat(),
    })
    assert r.status_code == 200
    body = r.json()
    assert body["timezone"] == "Europe/Berlin"
    assert len(body["slots"]) == 12
    first = body["slots"][0]
    assert first == {"start": iso(DAY, 9), "end": iso(DAY, 9, 15)}
    assert datetime.fromisoformat(first["start"]).utcoffset() == local(DAY, 9).astimezone(
        BERLIN).utcoffset()


async def test_availability_accepts_datetimes(client: httpx.AsyncClient, seeded: World) -> None:
    r = await client.get("/api/v1/availability", params={
        "service_id": seeded.service_id, "office_id": seeded.office_id,
        "from": iso(DAY, 10), "to": iso(DAY, 11),
    })
    assert r.status_code == 200
    starts = [s["start"] for s in r.json()["slots"]]
    assert starts == [iso(DAY, 10), iso(DAY, 10, 15), iso(DAY, 10, 30), iso(DAY, 10, 45)]
    # A "+" left unencoded in the query string (it arrives as a space) is understood too.
    query = (f"service_id={seeded.service_id}&office_id={seeded.office_id}"
             f"&from={iso(DAY, 10)}&to={iso(DAY, 11)}")
    assert "+" in query
    r = await client.get(f"/api/v1/availability?{query}")
    assert [s["start"] for s in r.json()["slots"]] == starts


async def test_availability_window_limits(client: httpx.AsyncClient, seeded: World) -> None:
    def params(start: date, end: date) -> dict[str, Any]:
        return {"service_id": seeded.service_id, "office_id": seeded.office_id,
                "from": start.isoformat(), "to": end.isoformat()}

    r = await client.get("/api/v1/availability", params=params(DAY, DAY + timedelta(days=62)))
    assert r.status_code == 200
    assert len({s["start"][:10] for s in r.json()["slots"]}) == 63
    r = await client.get("/api/v1/availability", params=params(DAY, DAY + timedelta(days=63)))
    assert_error(r, 422, "validation_error")
    r = await client.get("/api/v1/availability", params=params(DAY, DAY - timedelta(days=1)))
    assert_error(r, 422, "validation_error")
    # A window in the past is valid and empty.
    r = await client.get("/api/v1/availability",
                         params=params(date(2020, 1, 1), date(2020, 1, 31)))
    assert r.status_code == 200 and r.json()["slots"] == []


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"office_id": "OFFICE"}, 422, "validation_error"),
        ({"service_id": "x"}, 422, "validation_error"),
        ({"service_id": "-1"}, 422, "validation_error"),
        ({"service_id": "99999999999999999999"}, 422, "validation_error"),
        ({"from": "tomorrow"}, 422, "validation_error"),
        ({"from": "2026-13-01"}, 422, "validation_error"),
        ({"to": ""}, 422, "validation_error"),
        ({"service_id": "424242"}, 404, "not_found"),
        ({"office_id": "424242"}, 404, "not_found"),
    ],
)
async def test_availability_bad_queries(
    client: httpx.AsyncClient, seeded: World, query: dict[str, str], status: int, code: str
) -> None:
    params = {"service_id": str(seeded.service_id), "office_id": str(seeded.office_id),
              "from": DAY.isoformat(), "to": DAY.isoformat()}
    if query:
        params.update(query)
    else:
        params = {}
    assert_error(await client.get("/api/v1/availability", params=params), status, code)


# --- booking -----------------------------------------------------------------------------------


async def test_book_reserved(client: httpx.AsyncClient, db: Database, seeded: World) -> None:
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reserved"
    assert body["reference"].startswith("BB-")
    assert body["start"] == iso(DAY, 9) and body["end"] == iso(DAY, 9, 15)
    hold = datetime.fromisoformat(body["hold_expires_at"])
    assert timedelta(minutes=14) < hold - datetime.now(BERLIN) <= timedelta(minutes=15)
    assert "token" not in r.text.lower()
    [a] = await appointments(db)
    assert a.reference == body["reference"] and a.email == "erika@example.com"
    async with db.transaction() as session:
        [job] = (await session.execute(select(Job))).scalars().all()
        assert job.kind == "mail.appointment" and job.data()["template"] == "hold"
    # The slot is gone from availability.
    r = await client.get("/api/v1/availability", params={
        "service_id": seeded.service_id, "office_id": seeded.office_id,
        "from": DAY.isoformat(), "to": DAY.isoformat()})
    assert iso(DAY, 9) not in [s["start"] for s in r.json()["slots"]]


async def test_book_confirmed_without_double_opt_in(
    settings_factory: Callable[..., Settings], seeded: World
) -> None:
    app = create_app(settings_factory(require_email_confirmation=False))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/api/v1/appointments",
                                  json=booking(seeded, iso(DAY, 9), locale="en"))
    assert r.status_code == 201
    assert r.json()["status"] == "confirmed"
    assert "hold_expires_at" not in r.json()


async def test_slot_taken(client: httpx.AsyncClient, seeded: World) -> None:
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert r.status_code == 201
    r = await client.post("/api/v1/appointments",
                          json=booking(seeded, iso(DAY, 9), "max@example.com"))
    error = assert_error(r, 409, "slot_taken")
    assert error["message"].startswith("Dieser Termin")  # German by default
    r = await client.post("/api/v1/appointments",
                          json=booking(seeded, iso(DAY, 9), "max@example.com"),
                          headers={"Accept-Language": "en-GB,en;q=0.9"})
    error = assert_error(r, 409, "slot_taken")
    assert error["message"] == "This time slot has just been taken. Please choose another one."


async def test_start_in_another_offset_is_the_same_instant(
    client: httpx.AsyncClient, seeded: World
) -> None:
    utc = local(DAY, 9).isoformat().replace("+00:00", "Z")
    r = await client.post("/api/v1/appointments", json=booking(seeded, utc))
    assert r.status_code == 201
    assert r.json()["start"] == iso(DAY, 9)


async def test_not_a_slot_cases(client: httpx.AsyncClient, db: Database, seeded: World) -> None:
    cases = {
        iso(DAY, 9, 5): "not a bookable slot",
        iso(DAY, 8, 45): "not a bookable slot",
        iso(DAY, 12): "not a bookable slot",
        iso(DAY - timedelta(days=5), 9): "in the past",
        iso(DAY + timedelta(days=400), 9): "too far ahead",
    }
    await add_closure(db, None, DAY + timedelta(days=1), "Feiertag")
    cases[iso(DAY + timedelta(days=1), 9)] = "closed on this day"
    for start, words in cases.items():
        r = await client.post("/api/v1/appointments", json=booking(seeded, start),
                              headers={"Accept-Language": "en"})
        error = assert_error(r, 422, "not_a_slot")
        assert words in error["message"], (start, error)
    assert await appointments(db) == []


async def test_too_soon(client: httpx.AsyncClient, db: Database) -> None:
    office = await add_office(db, min_notice_minutes=60 * 24 * 7)
    service = await add_service(db, [office])
    await add_schedule(db, office, [service])
    w = World(office, service, None)  # type: ignore[arg-type]
    r = await client.post("/api/v1/appointments", json=booking(w, iso(DAY, 9)),
                          headers={"Accept-Language": "en"})
    error = assert_error(r, 422, "not_a_slot")
    assert "10080 minutes" in error["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_id": "1"}, "service_id"),
        ({"service_id": 1.5}, "service_id"),
        ({"office_id": None}, "office_id"),
        ({"office_id": 2**40}, "office_id"),
        ({"start": "2026-11-23T09:00:00"}, "start"),  # no UTC offset
        ({"start": "next monday"}, "start"),
        ({"start": 1700000000}, "start"),
        ({"citizen": "Erika"}, "citizen"),
        ({"citizen": {"given_name": "Erika", "family_name": "M"}}, "citizen.email"),
        ({"citizen": {"given_name": "", "family_name": "M", "email": "e@example.com"}},
         "citizen.given_name"),
        ({"citizen": {"given_name": "E" * 101, "family_name": "M", "email": "e@example.com"}},
         "citizen.given_name"),
        ({"citizen": {"given_name": "E", "family_name": "M", "email": "not-an-address"}},
         "citizen.email"),
        ({"citizen": {"given_name": "E", "family_name": "M", "email": "e@example.com",
                      "phone": "call me"}}, "citizen.phone"),
        ({"citizen": {"given_name": "E", "family_name": "M", "email": "e@example.com",
                      "date_of_birth": "2999-01-01"}}, "citizen.date_of_birth"),
        ({"citizen": {"given_name": "E", "family_name": "M", "email": "e@example.com",
                      "date_of_birth": "01.02.1990"}}, "citizen.date_of_birth"),
        ({"locale": "fr"}, "locale"),
    ],
)
async def test_book_validation_errors(
    client: httpx.AsyncClient, seeded: World, change: dict[str, Any], field: str
) -> None:
    body = booking(seeded, iso(DAY, 9))
    body.update(change)
    r = await client.post("/api/v1/appointments", json=body, headers={"Accept-Language": "en"})
    error = assert_error(r, 422, "validation_error")
    assert error["details"][0]["field"] == field
    assert field in error["message"]


async def test_book_missing_fields_and_unknown_fields(
    client: httpx.AsyncClient, seeded: World
) -> None:
    body = booking(seeded, iso(DAY, 9))
    del body["start"]
    assert_error(await client.post("/api/v1/appointments", json=body), 422, "validation_error")
    # Unknown fields are ignored.
    body = booking(seeded, iso(DAY, 9), extra_field=True)
    body["citizen"]["nickname"] = "E"
    r = await client.post("/api/v1/appointments", json=body)
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"\xff\xfe", 400, "malformed_json"),
        (b"", 422, "validation_error"),
        (b"[1, 2]", 422, "validation_error"),
        (b"null", 422, "validation_error"),
        (b'"text"', 422, "validation_error"),
        (b'{"a": "' + b"x" * 70_000 + b'"}', 413, "payload_too_large"),
    ],
)
async def test_book_malformed_bodies(
    client: httpx.AsyncClient, seeded: World, content: bytes, status: int, code: str
) -> None:
    r = await client.post("/api/v1/appointments", content=content,
                          headers={"Content-Type": "application/json"})
    assert_error(r, status, code)


async def test_book_unknown_ids(client: httpx.AsyncClient, seeded: World) -> None:
    body = booking(seeded, iso(DAY, 9), service_id=424242)
    assert_error(await client.post("/api/v1/appointments", json=body), 404, "not_found")
    body = booking(seeded, iso(DAY, 9), office_id=424242)
    assert_error(await client.post("/api/v1/appointments", json=body), 404, "not_found")


async def test_service_not_offered_at_office(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    other = await add_office(db, name="Andere")
    body = booking(seeded, iso(DAY, 9), office_id=other.id)
    error = assert_error(await client.post("/api/v1/appointments", json=body,
                                           headers={"Accept-Language": "en"}),
                         422, "not_a_slot")
    assert "not offered" in error["message"]


async def test_only_video_services_are_listed_and_bookable(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    """The catalogue's rule (``booking.catalog.BOOKABLE``) on every public path: a service not
    offered by video is not listed, has no free slots and cannot be booked, like an unknown
    one; nothing is written."""
    on_site = await add_service(db, [seeded.office], name="Personalausweis", video=False)
    await add_schedule(db, seeded.office, [on_site])
    for query in ("", f"?office_id={seeded.office_id}"):
        r = await client.get(f"/api/v1/services{query}")
        assert [s["id"] for s in r.json()] == [seeded.service_id], query
    r = await client.get("/api/v1/availability", params={
        "service_id": on_site.id, "office_id": seeded.office_id,
        "from": DAY.isoformat(), "to": DAY.isoformat()})
    assert_error(r, 404, "not_found")
    body = booking(seeded, iso(DAY, 9), service_id=on_site.id)
    assert_error(await client.post("/api/v1/appointments", json=body), 404, "not_found")
    assert await appointments(db) == []
    # The same slot of the video service is free and bookable.
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert r.status_code == 201, r.text


async def test_per_email_limit(client: httpx.AsyncClient, seeded: World) -> None:
    emails = ["erika@example.com", "Erika@Example.com", "erika+2@example.com"]
    for i, email in enumerate(emails):
        r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9 + i), email))
        assert r.status_code == 201
    r = await client.post("/api/v1/appointments",
                          json=booking(seeded, iso(DAY, 11, 30), "ERIKA+spam@EXAMPLE.com"))
    assert_error(r, 409, "too_many_bookings")


async def test_rate_limit(settings_factory: Callable[..., Settings], seeded: World) -> None:
    app: Starlette = create_app(settings_factory(rate_limits_enabled=True,
                                                 rate_limit_booking="3/minute"))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            codes = []
            for i in range(5):
                r = await client.post("/api/v1/appointments",
                                      json=booking(seeded, iso(DAY, 9 + i), f"p{i}@example.com"))
                codes.append(r.status_code)
            assert codes == [201, 201, 201, 429, 429]
            error = assert_error(r, 429, "rate_limited")
            assert r.headers["retry-after"] == "60"
            assert error["message"]
            # Reading availability is not limited by the booking rule.
            r = await client.get("/api/v1/offices")
            assert r.status_code == 200


def next_changeover(month: int) -> date:
    """The next last Sunday of ``month`` (March: clocks forward, October: back) after DAY."""
    year = DAY.year
    while True:
        last = date(year, month, 31)
        sunday = last - timedelta(days=(last.weekday() - 6) % 7)
        if sunday > DAY:
            return sunday
        year += 1


async def test_availability_on_changeover_days_on_the_wire(
    client: httpx.AsyncClient, db: Database
) -> None:
    w = await world_with(db, start=time(1), end=time(4), office={"horizon_days": 400})
    spring, autumn = next_changeover(3), next_changeover(10)
    sp, au = spring.isoformat(), autumn.isoformat()
    r = await client.get("/api/v1/availability", params={
        "service_id": w.service_id, "office_id": w.office_id, "from": sp, "to": sp})
    starts = [s["start"] for s in r.json()["slots"]]
    assert starts == [
        f"{sp}T01:00:00+01:00", f"{sp}T01:15:00+01:00", f"{sp}T01:30:00+01:00",
        f"{sp}T01:45:00+01:00", f"{sp}T03:00:00+02:00", f"{sp}T03:15:00+02:00",
        f"{sp}T03:30:00+02:00", f"{sp}T03:45:00+02:00",
    ]
    assert r.json()["slots"][3]["end"] == f"{sp}T03:00:00+02:00"  # 15 real minutes
    r = await client.get("/api/v1/availability", params={
        "service_id": w.service_id, "office_id": w.office_id, "from": au, "to": au})
    starts = [s["start"] for s in r.json()["slots"]]
    assert len(starts) == len(set(starts)) == 16
    assert starts[7:9] == [f"{au}T02:45:00+02:00", f"{au}T02:00:00+01:00"]
    # Both 02:00s of the repeated hour are bookable: they are different instants.
    r = await client.post("/api/v1/appointments", json=booking(w, f"{au}T02:00:00+01:00"))
    assert r.status_code == 201 and r.json()["start"] == f"{au}T02:00:00+01:00"
    r = await client.post("/api/v1/appointments",
                          json=booking(w, f"{au}T02:00:00+02:00", "max@example.com"))
    assert r.status_code == 201 and r.json()["start"] == f"{au}T02:00:00+02:00"
    # 02:30 with the winter offset is the instant 03:30 summer time: the wire shows it so.
    r = await client.post("/api/v1/appointments",
                          json=booking(w, f"{sp}T02:30:00+01:00", "eva@example.com"))
    assert r.status_code == 201 and r.json()["start"] == f"{sp}T03:30:00+02:00"
