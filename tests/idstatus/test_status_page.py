"""The public page ``/document-status`` without JavaScript (plain form posts, as a browser
without scripts sends them): the status in plain German with its steps and date, the office's
address, hours and closures, the booking link once ready, the e-mail form until then."""

from __future__ import annotations

import datetime as dt

from booking.models import Closure, Office
from core.types import utcnow
from tests.app.pages.helpers import csrf_of, h1_count
from tests.idstatus.conftest import SERIAL, World, item
from tests.staff.helpers import add_schedule


async def prepare(world: World) -> str:
    desk = world.desk
    async with world.state.db.transaction(write=True) as session:
        office = await session.get(Office, desk.office_a)
        assert office is not None
        office.address = "Rathausplatz 1\n59872 Meschede"
        session.add(Closure(office_id=desk.office_a, date=utcnow().date() + dt.timedelta(days=3),
                            reason="Betriebsausflug"))
    await add_schedule(world.desk.app, desk.office_a, [desk.certificate], start=dt.time(8),
                       end=dt.time(12), weekdays="0,1,2,3,4")
    await add_schedule(world.desk.app, desk.office_a, [desk.life], start=dt.time(11),
                       end=dt.time(13), weekdays="1")
    await add_schedule(world.desk.app, desk.office_a, [desk.life], start=dt.time(14),
                       end=dt.time(18), weekdays="3")
    return csrf_of((await world.client.get("/document-status")).text)


async def test_the_form(world: World) -> None:
    page = await world.client.get("/document-status")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and h1_count(page.text) == 1
    assert 'name="document_type"' in page.text and 'name="serial"' in page.text
    assert "Status Ihres neuen Ausweises oder Reisepasses" in page.text
    english = await world.client.get("/document-status?lang=en")
    assert "Status of your new ID card or passport" in english.text


async def test_in_production_with_the_email_form(world: World) -> None:
    token = await prepare(world)
    await world.push(item("in_production", "2026-11-02T09:00:00+01:00"))
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "id_card", "serial": "l01x 00t47"})
    assert r.status_code == 200, r.text
    assert "Ihr Ausweis wird in der Bundesdruckerei hergestellt." in r.text
    assert '<time datetime="2026-11-02">2. November 2026</time>' in r.text
    assert "Schritt 1 von 4" in r.text and 'aria-current="step"' in r.text
    assert "Rathausplatz 1, 59872 Meschede" in r.text
    assert "<dt>Montag</dt>" in r.text and "08:00–12:00 Uhr" in r.text
    # Tuesday: two schedules that overlap are one opening.
    assert "08:00–13:00 Uhr" in r.text
    assert "08:00–12:00 Uhr, 14:00–18:00 Uhr" in r.text  # Thursday
    assert "Betriebsausflug" in r.text
    assert 'id="notify-form"' in r.text and 'id="book-pickup"' not in r.text

    r = await world.client.post("/document-status/notify", data={
        "csrf_token": token, "document_type": "id_card", "serial": "l01x 00t47",
        "email": "erika"})
    assert r.status_code == 422
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein." in r.text
    assert "Ihr Ausweis wird in der Bundesdruckerei hergestellt." in r.text
    r = await world.client.post("/document-status/notify", data={
        "csrf_token": token, "document_type": "id_card", "serial": "l01x 00t47",
        "email": "erika@example.org"})
    assert r.status_code == 200
    assert 'id="notify-saved"' in r.text and "erika@example.org" not in r.text
    [entry] = await world.entries()
    assert entry.notify_email is not None


async def test_ready_with_the_booking_link(world: World) -> None:
    token = await prepare(world)
    await world.push(item("ready", "2026-11-12T09:00:00+01:00", document_type="passport"))
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "passport", "serial": SERIAL})
    assert r.status_code == 200
    assert "Ihr Reisepass liegt zur Abholung bereit." in r.text
    assert "Schritt 3 von 4" in r.text
    assert 'id="book-pickup"' in r.text and 'href="/book"' in r.text
    assert 'id="notify-form"' not in r.text
    assert "Hier holen Sie es ab" in r.text
    # Asking to be told now changes nothing and says where it is.
    r = await world.client.post("/document-status/notify", data={
        "csrf_token": token, "document_type": "passport", "serial": SERIAL,
        "email": "erika@example.org"})
    assert r.status_code == 200 and 'id="notify-saved"' not in r.text
    assert (await world.entries())[0].notify_email is None


async def test_collected(world: World) -> None:
    token = await prepare(world)
    await world.push(item("collected", "2026-11-20T09:00:00+01:00"))
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "id_card", "serial": SERIAL})
    assert "Ihr Ausweis wurde abgeholt." in r.text and "Schritt 4 von 4" in r.text
    assert 'id="opening-hours"' not in r.text and 'id="notify-form"' not in r.text


async def test_errors_and_unknown_numbers(world: World) -> None:
    token = await prepare(world)
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "id_card", "serial": SERIAL})
    assert r.status_code == 404
    assert 'id="document-not-found"' in r.text
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "", "serial": "L01X00T4O"})
    assert r.status_code == 422
    assert "Bitte wählen Sie Personalausweis oder Reisepass." in r.text
    assert "es gibt kein O" in r.text  # both problems at once
    assert 'class="error-summary"' in r.text and 'href="#document_type"' in r.text
    assert 'href="#serial"' in r.text and 'aria-invalid="true"' in r.text
    r = await world.client.post("/document-status", data={
        "csrf_token": token, "document_type": "id_card", "serial": "L01X00T4O"})
    assert r.status_code == 422
    assert "es gibt kein O, nur die Ziffer 0" in r.text
    assert 'value="L01X00T4O"' in r.text  # what was typed stays in the field
    r = await world.client.post("/document-status", data={
        "document_type": "id_card", "serial": SERIAL})
    assert r.status_code == 403  # no CSRF token
    r = await world.client.post("/document-status/notify", data={
        "csrf_token": token, "document_type": "id_card", "serial": SERIAL, "email": "a@b.de"})
    assert r.status_code == 404
