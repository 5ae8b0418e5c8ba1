"""A service whose documents go by post: the booking asks for the postal address (page and
API), refuses a booking without it before any slot is taken, and keeps it for the request's
letters, where the clerk finds it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Appointment, Service
from postcall.dispatch import postal_address
from tests.app.pages.helpers import csrf_of, details_form, load, radio_values, walk_to_details
from tests.app.pages.seed import Seed, app_ctx, seed


@pytest.fixture
async def seeded(app: Starlette) -> Seed:
    found = await seed(app)
    async with app_ctx(app).db.transaction(write=True) as session:
        await session.execute(update(Service).where(col(Service.id) == found.service_id)
                              .values(delivers_by_post=True))
    return found


async def appointments(app: Starlette) -> int:
    async with app_ctx(app).db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Appointment)) or 0)


async def address_of(app: Starlette, reference: str) -> tuple[str, ...]:
    appointment = await load(app, reference)
    async with app_ctx(app).db.transaction() as session:
        return await postal_address(session, appointment.case_id)


async def test_the_page_asks_for_the_address_and_keeps_it(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk_to_details(client, seeded)
    assert 'name="postal_address"' in page and "Wohin wir Ihre Unterlagen schicken" in page
    data = details_form(csrf_of(page), seeded.service_id, day, slot)
    r = await client.post("/book", data=data)
    assert r.status_code == 422
    assert 'id="postal_address-error"' in r.text
    assert "Bitte geben Sie Ihre Postanschrift an" in r.text
    assert 'value="Erika"' in r.text  # the other entries are kept
    assert await appointments(app) == 0
    # Six lines break the address rules: refused beside the field, nothing booked.
    r = await client.post("/book", data={**data, "postal_address": "\n".join("abcdef")})
    assert r.status_code == 422 and 'id="postal_address-error"' in r.text
    assert "Höchstens 5 Zeilen für die Anschrift." in r.text
    assert await appointments(app) == 0
    r = await client.post("/book", data={
        **data, "postal_address": "  Großer Anger 7 \r\n\r\n73760  Musterhausen"})
    assert r.status_code == 303, r.text
    done = await client.get("/book/done")
    reference = done.text.split("<dd>BB-", 1)[1].split("</dd>", 1)[0]
    assert await address_of(app, "BB-" + reference) == ("Großer Anger 7", "73760 Musterhausen")


async def test_a_service_not_by_post_does_not_ask(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    plain = await seed(app)
    _, _, page = await walk_to_details(client, plain)
    assert 'name="postal_address"' not in page


async def test_the_api_needs_the_address_for_such_a_service(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    services = (await client.get("/api/v1/services")).json()
    by_id = {s["id"]: s for s in services}
    assert by_id[seeded.service_id]["postal_address_required"] is True
    assert by_id[seeded.free_service_id]["postal_address_required"] is False
    r = await client.get(f"/book?service={seeded.service_id}")
    day = radio_values(r.text, "day")[0]
    r = await client.get(f"/book?service={seeded.service_id}&day={day}")
    start = radio_values(r.text, "slot")[0]
    body = {"service_id": seeded.service_id, "office_id": seeded.office_id, "start": start,
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": "erika@example.org"}}
    r = await client.post("/api/v1/appointments", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "postal_address"
    assert "Postanschrift" in error["message"]
    assert await appointments(app) == 0
    r = await client.post("/api/v1/appointments",
                          json={**body, "postal_address": ["Marktplatz 3", "73760 Musterhausen"]})
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    assert await address_of(app, reference) == ("Marktplatz 3", "73760 Musterhausen")
