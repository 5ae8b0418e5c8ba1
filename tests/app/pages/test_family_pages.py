"""The booking pages for several matters and several people, without JavaScript: the service
step asks for further matters and the number of people, the times offered fit the whole
length, the details step asks for each further person, and the booking holds them all."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from booking.models import Office, Service, ServiceOffice
from booking.party_models import AppointmentPerson, AppointmentService
from tests.app.pages.call_helpers import add_clerk, login
from tests.app.pages.helpers import csrf_of, details_form, load, radio_values, token_of
from tests.app.pages.seed import Seed, app_ctx, seed


def both(s: Seed) -> str:
    return f"service={s.service_id}&also={s.free_service_id}&persons=3"


async def test_a_family_books_two_matters_through_the_pages(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await seed(app)
    r = await client.get("/book")
    assert r.status_code == 200
    assert 'type="checkbox" id="also-2" name="also"' in r.text
    assert 'name="persons"' in r.text and "Weitere Anliegen" in r.text

    # The checkbox form (repeated ``also``) is carried on as one value.
    r = await client.get(f"/book?step=service&service={s.service_id}&also={s.free_service_id}"
                         "&persons=3")
    assert r.status_code == 200, r.text
    day = radio_values(r.text, "day")[-1]
    r = await client.get(f"/book?{both(s)}&day={day}")
    assert r.status_code == 200
    slots = radio_values(r.text, "slot")
    plain = radio_values((await client.get(f"/book?service={s.service_id}&day={day}")).text,
                         "slot")
    # (15 + 2 × 15) + (30 + 2 × 30) = 135 minutes: none of the last two hours' starts fit.
    assert slots and len(slots) < len(plain)
    assert "17:45" not in " ".join(slots) and "16:00" not in " ".join(slots)
    slot = slots[0]
    r = await client.get(f"/book?{both(s)}&day={day}&slot={slot}")
    assert r.status_code == 200
    page = r.text
    assert 'id="person-2"' in page and 'id="person-3"' in page and 'id="person-4"' not in page
    assert "etwa 135 Minuten" in page and "Lebensbescheinigung" in page

    data = {**details_form(csrf_of(page), s.service_id, day, slot), "also": str(s.free_service_id),
            "persons": "3", "p2_given_name": "Max", "p2_family_name": "Mustermann",
            "p2_date_of_birth": "01.04.2015", "p3_given_name": "Mia"}
    r = await client.post("/book", data=data)
    assert r.status_code == 422
    assert 'id="p3_family_name-error"' in r.text and 'value="Max"' in r.text
    r = await client.post("/book", data={**data, "p3_family_name": "Mustermann"})
    assert r.status_code == 303, r.text
    done = await client.get("/book/done")
    match = re.search(r"<dd>(BB-[A-Z0-9]{4}-[A-Z0-9]{4})</dd>", done.text)
    assert match
    appointment = await load(app, match.group(1))
    assert appointment.end_at - appointment.start_at == timedelta(minutes=135)
    async with app_ctx(app).db.transaction() as session:
        services = (await session.execute(
            select(AppointmentService.service_id)
            .where(AppointmentService.appointment_id == appointment.id)  # type: ignore[arg-type]
            .order_by(AppointmentService.position))).scalars().all()  # type: ignore[arg-type]
        persons = (await session.execute(
            select(AppointmentPerson)
            .where(AppointmentPerson.appointment_id == appointment.id)  # type: ignore[arg-type]
            .order_by(AppointmentPerson.person))).scalars().all()  # type: ignore[arg-type]
    assert list(services) == [s.service_id, s.free_service_id]
    assert [(p.person, p.given_name, str(p.date_of_birth)) for p in persons] == [
        (2, "Max", "2015-04-01"), (3, "Mia", "None")]

    # The clerk's agenda of that day names both matters and the number of people.
    client.cookies.clear()
    await add_clerk(app, [s.office_id])
    await login(client)
    r = await client.get(f"/staff?date={day}")
    assert r.status_code == 200
    row = r.text.split(f'id="row-{appointment.reference}"', 1)[1].split("</tr>", 1)[0]
    assert "Lebensbescheinigung" in row and ", " in row
    assert 'data-persons="3"' in row and "für 3 Personen" in row


async def test_more_people_than_allowed_are_capped(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await seed(app)
    r = await client.get("/book")
    # BUERO_BOOKING_MAX_PERSONS (5 by default) caps the choice.
    assert '<option value="5"' in r.text and '<option value="6"' not in r.text
    r = await client.get(f"/book?service={s.service_id}&persons=9")
    day = radio_values(r.text, "day")[0]
    r = await client.get(f"/book?service={s.service_id}&persons=9&day={day}")
    assert "persons=5" in r.text.replace("&amp;", "&")


async def test_a_matter_no_office_offers_together_is_left_out(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await seed(app)
    async with app_ctx(app).db.transaction(write=True) as session:
        elsewhere = Office(name="Außenstelle", timezone="Europe/Berlin")
        only_there = Service(name="Fischereischein", duration_minutes=15)
        session.add_all([elsewhere, only_there])
        await session.flush()
        assert elsewhere.id is not None and only_there.id is not None
        session.add(ServiceOffice(service_id=only_there.id, office_id=elsewhere.id))
        other_id = only_there.id
    r = await client.get(f"/book?service={s.service_id}&also={other_id},{s.free_service_id}")
    assert r.status_code == 200, r.text
    # The day step's form carries the choices on: the matter offered together, not the other.
    assert f'name="also" value="{s.free_service_id}"' in r.text


async def test_moving_a_family_appointment_offers_times_for_its_whole_length(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await seed(app)
    r = await client.get(f"/book?service={s.service_id}")
    day = radio_values(r.text, "day")[-1]  # the last day: the whole opening is ahead
    r = await client.get(f"/book?service={s.service_id}&day={day}")
    first = radio_values(r.text, "slot")[0]
    r = await client.post("/api/v1/appointments", json={
        "service_ids": [s.service_id, s.free_service_id], "office_id": s.office_id,
        "start": first, "locale": "de",
        "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                    "email": "erika@example.org"},
        "persons": [{"given_name": "Max", "family_name": "Mustermann"}]})
    assert r.status_code == 201, r.text
    link = f"/t/{await token_of(app, r.json()['reference'])}"
    page = (await client.get(link)).text
    summary = page.split('id="appointment-summary"', 1)[1].split("</dl>", 1)[0]
    assert "Meldebescheinigung, Lebensbescheinigung" in summary
    assert "Erika Mustermann, Max Mustermann" in summary
    r = await client.get(f"{link}/reschedule?day={day}")
    assert r.status_code == 200, r.text
    moves = radio_values(r.text, "slot")
    plain = radio_values((await client.get(f"/book?service={s.service_id}&day={day}")).text,
                         "slot")
    # (15 + 15) + (30 + 30) = 90 minutes: the last 75 minutes of the day start nothing.
    assert moves and set(moves) < set(plain) and plain[-1] not in moves
    assert len(set(plain) - set(moves)) >= 5
