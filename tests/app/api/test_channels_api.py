"""Appointment channels through the public and the citizen API (black box, SQLite and Postgres):
the services' channels, bookings on site and by phone, the phone number a phone booking needs,
a channel the service is not offered by, and seats shared or kept per channel."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from starlette.applications import Starlette

from app.db import Database
from booking.models import Schedule, Service
from tests.app.api.conftest import DAY, token_of
from tests.app.api.test_public_api import assert_error, booking, iso
from tests.booking.factories import World, add_schedule, appointments

PHONE = "0711 1234567"


async def offer(db: Database, w: World, **channels: bool | str) -> None:
    async with db.transaction(write=True) as session:
        await session.execute(update(Service).where(Service.id == w.service_id)  # type: ignore[arg-type]
                              .values(**channels))


async def keep_for(db: Database, schedule_id: int | None, channel: str | None) -> None:
    async with db.transaction(write=True) as session:
        await session.execute(update(Schedule).where(Schedule.id == schedule_id)  # type: ignore[arg-type]
                              .values(channel=channel))


def citizen(phone: str | None = None) -> dict[str, Any]:
    body = {"given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.com"}
    if phone is not None:
        body["phone"] = phone
    return body


async def slots(client: httpx.AsyncClient, w: World, channel: str | None = None) -> list[str]:
    params: dict[str, str | int] = {
        "service_id": w.service_id, "office_id": w.office_id, "from": DAY.isoformat(),
              "to": DAY.isoformat()}
    if channel is not None:
        params["channel"] = channel
    r = await client.get("/api/v1/availability", params=params)
    assert r.status_code == 200, r.text
    return [s["start"] for s in r.json()["slots"]]


async def test_services_carry_their_channels(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    [only] = (await client.get("/api/v1/services")).json()
    assert only["channels"] == ["video"] and only["video"] is True
    await offer(db, seeded, video=False, onsite=True, phone=True, bring="Alte Meldebescheinigung")
    [only] = (await client.get("/api/v1/services")).json()
    assert only["channels"] == ["onsite", "phone"] and only["video"] is False
    assert only["bring"] == "Alte Meldebescheinigung"


async def test_on_site_and_phone_bookings(
    app: Starlette, client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    await offer(db, seeded, onsite=True, phone=True)
    r = await client.post("/api/v1/appointments", json=booking(
        seeded, iso(DAY, 9), channel="onsite"))
    assert r.status_code == 201, r.text
    onsite = r.json()["reference"]
    body = booking(seeded, iso(DAY, 10), channel="phone")
    body["citizen"] = citizen(PHONE)
    r = await client.post("/api/v1/appointments", json=body)
    assert r.status_code == 201, r.text
    phone = r.json()["reference"]
    # No channel: video, where the service is offered by video.
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 11)))
    assert r.status_code == 201, r.text
    by_reference = {a.reference: a.channel for a in await appointments(db)}
    assert by_reference == {onsite: "onsite", phone: "phone", r.json()["reference"]: "video"}
    for reference, channel in ((onsite, "onsite"), (phone, "phone")):
        token = await token_of(app, db, reference)
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["channel"] == channel


async def test_a_phone_booking_needs_the_number(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    await offer(db, seeded, phone=True)
    for phone in (None, "", "   "):
        body = booking(seeded, iso(DAY, 9), channel="phone")
        body["citizen"] = citizen(phone)
        r = await client.post("/api/v1/appointments", json=body,
                              headers={"Accept-Language": "en"})
        error = assert_error(r, 422, "validation_error")
        assert "phone number we should call you on" in error["message"], error
    r = await client.post("/api/v1/appointments", json={**body, "locale": "de"})
    assert "Telefonnummer" in assert_error(r, 422, "validation_error")["message"]
    assert await appointments(db) == []


async def test_a_channel_the_service_is_not_offered_by_is_refused(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    body = booking(seeded, iso(DAY, 9), channel="onsite")
    r = await client.post("/api/v1/appointments", json=body, headers={"Accept-Language": "en"})
    assert assert_error(r, 422, "validation_error")["message"] == \
        "This service is not offered on site."
    r = await client.post("/api/v1/appointments", json={**body, "channel": "carrier pigeon"})
    assert_error(r, 422, "validation_error")
    # A service offered on site only: video is refused, and without a channel it is on site.
    await offer(db, seeded, video=False, onsite=True)
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9),
                                                               channel="video"),
                          headers={"Accept-Language": "en"})
    assert assert_error(r, 422, "validation_error")["message"] == \
        "This service is not offered by video."
    assert await appointments(db) == []
    r = await client.post("/api/v1/appointments", json=booking(seeded, iso(DAY, 9)))
    assert r.status_code == 201, r.text
    assert [a.channel for a in await appointments(db)] == ["onsite"]
    r = await client.get("/api/v1/availability", params={
        "service_id": seeded.service_id, "office_id": seeded.office_id, "channel": "phone",
        "from": DAY.isoformat(), "to": DAY.isoformat(), "lang": "en"})
    assert assert_error(r, 422, "validation_error")["message"] == \
        "This service is not offered by phone."


async def test_a_shared_schedule_seat_taken_by_phone_is_gone_for_video(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    """The world's schedule: capacity 1, shared by every channel (``channel`` NULL)."""
    await offer(db, seeded, phone=True)
    nine = iso(DAY, 9)
    assert nine in await slots(client, seeded, "video")
    assert nine in await slots(client, seeded, "phone")
    body = booking(seeded, nine, channel="phone")
    body["citizen"] = citizen(PHONE)
    assert (await client.post("/api/v1/appointments", json=body)).status_code == 201
    assert nine not in await slots(client, seeded)
    assert nine not in await slots(client, seeded, "video")
    assert nine not in await slots(client, seeded, "phone")
    r = await client.post("/api/v1/appointments",
                          json=booking(seeded, nine, "other@example.com", channel="video"))
    assert_error(r, 409, "slot_taken")


async def test_a_phone_only_seat_does_not_serve_video(
    client: httpx.AsyncClient, db: Database, seeded: World
) -> None:
    await offer(db, seeded, phone=True)
    await keep_for(db, seeded.schedule.id, "phone")
    nine = iso(DAY, 9)
    assert await slots(client, seeded, "video") == []
    assert nine in await slots(client, seeded, "phone")
    r = await client.post("/api/v1/appointments", json=booking(seeded, nine))
    assert_error(r, 422, "not_a_slot")
    # A second schedule for video only: its seats serve video, the phone seats stay apart.
    video = await add_schedule(db, seeded.office, [seeded.service])
    await keep_for(db, video.id, "video")
    body = booking(seeded, nine, channel="phone")
    body["citizen"] = citizen(PHONE)
    assert (await client.post("/api/v1/appointments", json=body)).status_code == 201
    assert nine not in await slots(client, seeded, "phone")  # its one seat is taken
    assert nine in await slots(client, seeded, "video")  # the video seat is still free
    r = await client.post("/api/v1/appointments",
                          json=booking(seeded, nine, "other@example.com"))
    assert r.status_code == 201, r.text
    placed = sorted((a.channel, a.schedule_id) for a in await appointments(db))
    assert placed == [("phone", seeded.schedule.id), ("video", video.id)]
    assert nine not in await slots(client, seeded, "video")
