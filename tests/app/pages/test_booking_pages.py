"""The start page and the booking flow, through HTTP like a browser without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from booking.models import Appointment, Service
from cases.models import Case
from core.jobs import Job
from tests.app.pages.helpers import (
    book_via_pages,
    counts,
    csrf_of,
    details_form,
    h1_count,
    load,
    radio_values,
    walk_to_details,
)
from tests.app.pages.seed import Seed, app_ctx, seed
from tests.conftest import running


@pytest.fixture
async def seeded(app: Starlette) -> Seed:
    return await seed(app)


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="(\w+)">', page)
    assert match
    return match.group(1)


async def test_start_page_in_german_and_english(client: httpx.AsyncClient, seeded: Seed) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert html_lang(r.text) == "de"
    assert "Termin im Bürgerbüro – per Video" in r.text
    assert "Meldebescheinigung" in r.text and "10,00\xa0€" in r.text
    assert "etwa 15 Minuten" in r.text and "gebührenfrei" in r.text
    assert 'href="/book"' in r.text and "Termin buchen" in r.text
    assert "Personalausweis oder Reisepass" in r.text
    assert h1_count(r.text) == 1
    # The town and its office, with the address.
    assert '<p class="eyebrow" id="town">Stadt Musterstadt</p>' in r.text
    assert "<title>Termin im Bürgerbüro – per Video – Stadt Musterstadt" in r.text
    assert "Unser Bürgerbüro" in r.text and "Rathausplatz 1<br>12345 Musterstadt" in r.text

    r = await client.get("/?lang=en")
    assert html_lang(r.text) == "en"
    assert "Video appointments with the citizen office" in r.text
    assert "Registration certificate" in r.text and "€10.00" in r.text
    assert "lang=en" in r.headers["set-cookie"]
    # The choice is remembered: the next page without ?lang is English too.
    r = await client.get("/book")
    assert html_lang(r.text) == "en"
    assert "What do you need an appointment for?" in r.text


async def test_every_step_renders_in_both_languages(
    client: httpx.AsyncClient, seeded: Seed
) -> None:
    for lang, words in (("de", ["Schritt 1 von 4", "Wofür brauchen Sie einen Termin?"]),
                        ("en", ["Step 1 of 4", "What do you need an appointment for?"])):
        r = await client.get(f"/book?lang={lang}")
        assert r.status_code == 200
        assert html_lang(r.text) == lang
        assert all(w in r.text for w in words), r.text
        assert h1_count(r.text) == 1
        assert 'aria-current="step"' in r.text

    await client.get("/?lang=de")
    day, _slot, page = await walk_to_details(client, seeded)
    assert "Schritt 4 von 4" in page and "Ihre Angaben" in page
    assert 'autocomplete="given-name"' in page and 'name="consent"' in page
    assert 'href="/privacy"' in page
    r = await client.get(f"/book?service={seeded.service_id}&day={day}&lang=en")
    assert "Step 3 of 4" in r.text and "Which time suits you?" in r.text
    assert "Morning" in r.text or "Afternoon" in r.text
    # The language switch keeps the step (its link carries the choices).
    assert f"service={seeded.service_id}&amp;day={day}&amp;lang=de" in r.text


async def test_booking_creates_a_held_appointment_and_shows_the_done_page(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk_to_details(client, seeded)
    r = await client.post("/book", data=details_form(csrf_of(page), seeded.service_id, day, slot))
    assert r.status_code == 303 and r.headers["location"] == "/book/done"
    r = await client.get("/book/done")
    assert r.status_code == 200
    assert "Fast geschafft: Bitte bestätigen Sie Ihren Termin" in r.text
    assert "erika@example.org" in r.text
    assert "innerhalb von 15 Minuten" in r.text
    assert h1_count(r.text) == 1
    reference = re.search(r"<dd>(BB-[A-Z0-9-]+)</dd>", r.text)
    assert reference
    appointment = await load(app, reference.group(1))
    assert appointment.status == "reserved"
    assert appointment.given_name == "Erika" and appointment.locale == "de"
    assert str(appointment.date_of_birth) == "1964-08-12"
    # The booking opened the citizen's request, with its own copy of the citizen's data.
    async with app_ctx(app).db.transaction() as session:
        request = await session.get(Case, appointment.case_id)
    assert request is not None and request.state == "open" and request.channel == "video"
    assert (request.reference, request.given_name, request.locale) == (
        appointment.reference, "Erika", "de")
    assert request.date_of_birth == appointment.date_of_birth
    # The done page never shows the link token (only the mailbox may confirm).
    token = app_ctx(app).links.token_for(appointment.link_nonce)
    assert token not in r.text
    async with app_ctx(app).db.transaction() as session:
        payloads = [job.payload for job in (await session.execute(select(Job))).scalars()]
    assert any('"hold"' in payload for payload in payloads)


async def test_done_page_without_a_booking_goes_back_to_the_flow(
    client: httpx.AsyncClient, seeded: Seed
) -> None:
    r = await client.get("/book/done")
    assert r.status_code == 303 and r.headers["location"] == "/book"
    client.cookies.set("citizen_booked", "forged.0.value", path="/book/done")
    r = await client.get("/book/done")
    assert r.status_code == 303


async def test_booking_without_confirmation_is_confirmed(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(require_email_confirmation=False))
    async with running(application):
        seeded = await seed(application)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            await client.get("/?lang=en")
            reference = await book_via_pages(client, seeded)
            r = await client.get("/book/done")
            assert "Your appointment is booked" in r.text
        assert (await load(application, reference)).status == "confirmed"


@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
async def test_booking_post_without_valid_csrf_is_refused(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed, token: str | None
) -> None:
    day, slot, page = await walk_to_details(client, seeded)
    before = await counts(app)
    data = details_form(csrf_of(page), seeded.service_id, day, slot)
    if token is None:
        del data["csrf_token"]
    else:
        data["csrf_token"] = token
    r = await client.post("/book", data=data)
    assert r.status_code == 403
    assert "Zu Ihrer Sicherheit konnte das Formular nicht gesendet werden" in r.text
    assert await counts(app) == before


async def test_csrf_token_of_another_browser_is_refused(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk_to_details(client, seeded, min_slots=2)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        await other.get("/")  # has its own cookie, but sends this browser's token
        r = await other.post("/book", data=details_form(csrf_of(page), seeded.service_id, day,
                                                        slot))
    assert r.status_code == 403


async def test_validation_errors_are_shown_beside_the_fields_and_values_kept(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk_to_details(client, seeded)
    before = await counts(app)
    r = await client.post("/book", data=details_form(
        csrf_of(page), seeded.service_id, day, slot, given_name="", email="not-an-address",
        phone="call me", date_of_birth="31.02.1990", consent=None, family_name="Muster<mann>"))
    assert r.status_code == 422
    text = r.text
    assert "Bitte prüfen Sie Ihre Angaben" in text  # the error summary
    for field in ("given_name", "email", "phone", "date_of_birth", "consent"):
        assert f'href="#{field}"' in text
        assert f'id="{field}-error"' in text
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', text), field
    assert re.search(r'id="email"[^>]*aria-describedby="email-hint email-error"', text)
    assert 'value="not-an-address"' in text and 'value="Muster&lt;mann&gt;"' in text
    assert 'value="31.02.1990"' in text and 'value="call me"' in text
    assert "Bitte geben Sie Ihren Vornamen ein." in text
    assert "Fehler:" in text.split("</title>")[0]
    assert await counts(app) == before


async def test_a_taken_slot_gives_a_friendly_message_and_fresh_times(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk_to_details(client, seeded, min_slots=2)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        other_day, other_slot, other_page = await walk_to_details(other, seeded, min_slots=2)
        assert (other_day, other_slot) == (day, slot)
        r = await other.post("/book", data=details_form(
            csrf_of(other_page), seeded.service_id, day, slot, email="other@example.org"))
        assert r.status_code == 303
    r = await client.post("/book", data=details_form(csrf_of(page), seeded.service_id, day, slot))
    assert r.status_code == 409
    assert "Diese Uhrzeit ist leider nicht mehr frei" in r.text
    assert "Um wie viel Uhr passt es Ihnen?" in r.text
    assert slot not in radio_values(r.text, "slot")
    assert radio_values(r.text, "slot")  # other times of the day are offered


async def test_too_many_bookings_keep_the_form(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(max_active_bookings_per_email=1))
    async with running(application):
        seeded = await seed(application)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            await book_via_pages(client, seeded, pick=0)
            day, slot, page = await walk_to_details(client, seeded, pick=1)
            r = await client.post("/book", data=details_form(
                csrf_of(page), seeded.service_id, day, slot, email="Erika+zwei@Example.org"))
            assert r.status_code == 409
            assert "höchstmögliche Zahl offener Termine" in r.text
            assert 'value="Erika+zwei@Example.org"' in r.text


async def test_missing_choices_show_errors_and_bad_parameters_no_500(
    client: httpx.AsyncClient, seeded: Seed
) -> None:
    r = await client.get("/book?step=service")
    assert r.status_code == 422
    assert "Bitte wählen Sie, wofür Sie einen Termin brauchen." in r.text
    assert 'href="#service"' in r.text and 'id="service"' in r.text
    for query in ("service=abc", "service=999999", "service=-1", "service=1&day=2020-13-40",
                  f"service={seeded.service_id}&day=1999-01-01",
                  f"service={seeded.service_id}&day=2020-01-01&slot=garbage",
                  f"service={seeded.service_id}&from=xyz", "service=" + "9" * 40):
        r = await client.get(f"/book?{query}")
        assert r.status_code in (200, 409, 422), (query, r.status_code)
        assert h1_count(r.text) == 1
    r = await client.get(f"/book?service={seeded.service_id}&step=day")
    assert r.status_code == 422 and "Bitte wählen Sie einen Tag." in r.text


async def test_pages_and_api_refuse_a_service_not_offered_by_video(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    """One catalogue (``booking.catalog``) for the pages and the API: once a service is no
    longer offered by video it is not listed, the flow asks for a service again, and a form
    filled while it still was bookable books nothing, on the pages as through the API."""
    day, slot, page = await walk_to_details(client, seeded)
    async with app_ctx(app).db.transaction(write=True) as session:
        service = await session.get(Service, seeded.service_id)
        assert service is not None
        service.video = False
    r = await client.get("/")
    assert "Lebensbescheinigung" in r.text and "Meldebescheinigung" not in r.text
    r = await client.get(f"/book?service={seeded.service_id}")
    assert r.status_code == 422
    assert radio_values(r.text, "service") == [str(seeded.free_service_id)]
    before = await counts(app)
    r = await client.post("/book", data=details_form(csrf_of(page), seeded.service_id, day, slot))
    assert r.status_code == 422
    assert radio_values(r.text, "service") == [str(seeded.free_service_id)]
    assert await counts(app) == before
    r = await client.get("/api/v1/services")
    assert [s["id"] for s in r.json()] == [seeded.free_service_id]
    r = await client.post("/api/v1/appointments", json={
        "service_id": seeded.service_id, "office_id": seeded.office_id, "start": slot,
        "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                    "email": "erika@example.org"}, "locale": "de",
    })
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    assert await counts(app) == before


async def test_office_step_appears_with_two_offices(app: Starlette,
                                                    client: httpx.AsyncClient) -> None:
    seeded = await seed(app, two_offices=True)
    r = await client.get("/book")
    assert "Schritt 1 von 5" in r.text
    r = await client.get(f"/book?service={seeded.service_id}")
    assert "Mit welchem Bürgerbüro möchten Sie sprechen?" in r.text
    assert "Schritt 2 von 5" in r.text
    assert set(radio_values(r.text, "office")) == {str(seeded.office_id),
                                                   str(seeded.second_office_id)}
    r = await client.get(f"/book?service={seeded.service_id}&office={seeded.second_office_id}")
    assert "Schritt 3 von 5" in r.text and radio_values(r.text, "day")


async def test_booking_is_rate_limited_per_ip(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(rate_limits_enabled=True,
                                              rate_limit_booking="2/minute"))
    async with running(application):
        seeded = await seed(application)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            day, slot, page = await walk_to_details(client, seeded)
            bad = details_form(csrf_of(page), seeded.service_id, day, slot, given_name="")
            assert (await client.post("/book", data=bad)).status_code == 422
            assert (await client.post("/book", data=bad)).status_code == 422
            r = await client.post("/book", data=bad)
            assert r.status_code == 429
            assert "Bitte warten Sie einen Moment" in r.text


async def test_privacy_page_and_error_page(client: httpx.AsyncClient, seeded: Seed) -> None:
    r = await client.get("/privacy")
    assert r.status_code == 200 and "Datenschutzhinweise" in r.text
    assert "Stadt Musterstadt" in r.text and "Rathausplatz 1" in r.text
    assert "nicht aufgezeichnet" in r.text
    r = await client.get("/privacy?lang=en")
    assert "Privacy notice" in r.text and "not recorded" in r.text
    r = await client.get("/no-such-page")
    assert r.status_code == 404
    assert "Page not found" in r.text and h1_count(r.text) == 1


async def test_form_body_limits(client: httpx.AsyncClient, seeded: Seed) -> None:
    await client.get("/")
    r = await client.post("/book", content=b"x" * 20000,
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    r = await client.post("/book", json={"a": 1})
    assert r.status_code == 415
    r = await client.post("/book", content="&".join(f"f{i}=1" for i in range(100)),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400


FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_form_limits_answer_a_translated_page(client: httpx.AsyncClient,
                                                     seeded: Seed) -> None:
    """Every refusal of the form reader (app/pages/forms.py) is an error page in the request's
    language with its own message, never a 500; the limits hold before the CSRF check."""
    assert (await client.get("/")).status_code == 200  # the browser has its CSRF cookie
    cases: list[tuple[bytes, dict[str, str], int, str, str]] = [
        (b"x" * (16 * 1024 + 1), FORM, 413, "Dieses Formular ist zu groß",
         "This form is too large to be sent."),
        ("&".join(f"f{i}=1" for i in range(41)).encode(), FORM, 400,
         "Dieses Formular hat mehr Felder oder längere Eingaben",
         "This form has more fields or longer entries than it may have."),
        (b"comment=" + b"x" * 10_001, FORM, 400,
         "Dieses Formular hat mehr Felder oder längere Eingaben",
         "This form has more fields or longer entries than it may have."),
        (b"given_name=%FF%FE", FORM, 400, "Dieses Formular konnte nicht gelesen werden",
         "This form could not be read."),
        (b"given_name=\xff\xfe", FORM, 400, "Dieses Formular konnte nicht gelesen werden",
         "This form could not be read."),
        (b"given_name=a%00b", FORM, 400, "Dieses Formular konnte nicht gelesen werden",
         "This form could not be read."),
        (b'{"given_name": "Erika"}', {"content-type": "application/json"}, 415,
         "Bitte senden Sie dieses Formular von seiner Seite",
         "Please send this form from its page on this site."),
    ]
    for body, headers, status, german, english in cases:
        for path, text in (("/book?lang=de", german), ("/book?lang=en", english)):
            r = await client.post(path, content=body, headers=headers)
            assert r.status_code == status, (body[:40], path)
            assert r.headers["content-type"].startswith("text/html")
            assert text in r.text, (body[:40], path)
    # Within the limits, the same form reaches the CSRF check (and the booking's own checks).
    r = await client.post("/book", content=("&".join(f"f{i}=1" for i in range(38))
                                            + "&comment=" + "x" * 10_000).encode(),
                          headers=FORM)
    assert r.status_code == 403


async def test_appointment_rows_are_untouched_by_the_choosing_steps(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    before = await counts(app)
    await walk_to_details(client, seeded)
    assert await counts(app) == before
    async with app_ctx(app).db.transaction() as session:
        assert (await session.execute(select(Appointment))).first() is None


async def test_the_form_sent_again_leaves_one_booking(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    """Back after "booked" and "book" again: the browser that booked sees its booking; nobody
    gets a second hold of the same time, and another browser learns no details."""
    day, slot, page = await walk_to_details(client, seeded)
    form = details_form(csrf_of(page), seeded.service_id, day, slot)
    r = await client.post("/book", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/book/done"
    first = re.search(r"<dd>(BB-[A-Z0-9-]+)</dd>", (await client.get("/book/done")).text)
    assert first
    r = await client.post("/book", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/book/done"
    again = re.search(r"<dd>(BB-[A-Z0-9-]+)</dd>", (await client.get("/book/done")).text)
    assert again and again.group(1) == first.group(1)
    async with app_ctx(app).db.transaction() as session:
        rows = list((await session.execute(select(Appointment))).scalars())
    assert len(rows) == 1

    # Anyone else sending the same address and time (here through the API) learns only that
    # this address already holds it: no reference, no second hold.
    r = await client.post("/api/v1/appointments", json={
        "service_id": seeded.service_id, "office_id": seeded.office_id,
        "start": rows[0].start_at.isoformat(),
        "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                    "email": rows[0].email}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_booked"
    assert "bereits gebucht" in r.json()["error"]["message"]
    assert first.group(1) not in r.text
    async with app_ctx(app).db.transaction() as session:
        assert len(list((await session.execute(select(Appointment))).scalars())) == 1
