"""The appointment page behind the e-mailed link: reading never changes anything, every change is
a POST with the CSRF token."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import update
from sqlmodel import col
from starlette.applications import Starlette

from app.main import create_app
from app.pages.citizen_forms import parse_slot
from app.settings import Settings
from booking.models import Appointment
from core.types import utcnow
from tests.app.pages.helpers import (
    book_via_pages,
    counts,
    csrf_of,
    h1_count,
    load,
    radio_values,
    token_of,
    walk_to_details,
)
from tests.app.pages.seed import Seed, app_ctx, seed
from tests.conftest import running


@pytest.fixture
async def seeded(app: Starlette) -> Seed:
    return await seed(app)


@pytest.fixture
async def booked(app: Starlette, client: httpx.AsyncClient, seeded: Seed) -> tuple[str, str]:
    """(reference, link path) of a fresh reserved appointment."""
    reference = await book_via_pages(client, seeded)
    return reference, f"/t/{await token_of(app, reference)}"


async def snapshot(app: Starlette, reference: str) -> tuple[object, ...]:
    a = await load(app, reference)
    return (a.status, a.start_at, a.updated_at, a.ics_sequence, a.confirmed_at, a.cancelled_at,
            a.hold_expires_at, *await counts(app))


async def test_reading_the_link_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    before = await snapshot(app, reference)
    # What a mail scanner or a link preview does: follow every link on the page with GET.
    for path in (link, f"{link}/cancel", f"{link}/reschedule", f"{link}/calendar.ics",
                 f"{link}/confirm", f"{link}?done=cancelled", f"{link}?lang=en"):
        r = await client.get(path)
        assert r.status_code in (200, 405), (path, r.status_code)
    assert await snapshot(app, reference) == before


async def test_appointment_page_shows_the_reserved_state(
    client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    r = await client.get(link)
    assert r.status_code == 200
    assert h1_count(r.text) == 1
    assert "Vorgemerkt – bitte bestätigen" in r.text
    assert reference in r.text and "Meldebescheinigung" in r.text
    assert f'action="{link}/confirm"' in r.text and 'method="post"' in r.text
    assert f'href="{link}/cancel"' in r.text and f'href="{link}/reschedule"' in r.text
    assert "Bitte halten Sie bereit" in r.text and "Steuer-ID" in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    r = await client.get(f"{link}?lang=en")
    assert "Reserved – please confirm" in r.text and "Registration certificate" in r.text


async def test_confirm_then_reschedule_then_cancel(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    page = (await client.get(link)).text
    r = await client.post(f"{link}/confirm", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=confirmed"
    assert (await load(app, reference)).status == "confirmed"
    r = await client.get(r.headers["location"])
    assert "Vielen Dank – Ihr Termin ist bestätigt." in r.text
    assert "Bestätigt" in r.text
    assert 'id="join-window"' in r.text and "Der Videoraum öffnet 15 Minuten" in r.text
    assert f'href="{link}/calendar.ics"' in r.text

    old = await load(app, reference)
    r = await client.get(f"{link}/reschedule")
    assert r.status_code == 200 and "Neuen Tag wählen" in r.text
    day = radio_values(r.text, "day")[-1]
    r = await client.get(f"{link}/reschedule?day={day}")
    assert "Neue Uhrzeit wählen" in r.text and 'method="post"' in r.text
    new_slot = radio_values(r.text, "slot")[-1]
    r = await client.post(f"{link}/reschedule", data={"csrf_token": csrf_of(r.text),
                                                      "slot": new_slot})
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=rescheduled"
    moved = await load(app, reference)
    assert moved.start_at != old.start_at and moved.ics_sequence == old.ics_sequence + 1
    assert moved.status == "confirmed" and moved.reference == reference
    assert "Ihr Termin ist verschoben." in (await client.get(r.headers["location"])).text

    r = await client.get(f"{link}/cancel")
    assert r.status_code == 200 and "Termin wirklich absagen?" in r.text
    assert (await load(app, reference)).status == "confirmed"
    r = await client.post(f"{link}/cancel", data={"csrf_token": csrf_of(r.text)})
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=cancelled"
    assert (await load(app, reference)).status == "cancelled"
    r = await client.get(r.headers["location"])
    assert "Ihr Termin ist abgesagt." in r.text and "Abgesagt" in r.text
    assert 'href="/book"' in r.text and "Neuen Termin buchen" in r.text
    assert f"{link}/confirm" not in r.text and f"{link}/cancel" not in r.text
    # Cancelled: the cancel and reschedule pages lead back to the appointment.
    assert (await client.get(f"{link}/cancel")).status_code == 303
    assert (await client.get(f"{link}/reschedule")).status_code == 303


async def test_cancelled_slot_is_bookable_again(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    reference = await book_via_pages(client, seeded)
    start = (await load(app, reference)).start_at
    link = f"/t/{await token_of(app, reference)}"
    page = (await client.get(f"{link}/cancel")).text
    await client.post(f"{link}/cancel", data={"csrf_token": csrf_of(page)})
    again = await book_via_pages(client, seeded, email="someone@example.org")
    assert (await load(app, again)).start_at == start


@pytest.mark.parametrize("action", ["confirm", "cancel", "reschedule"])
async def test_changes_need_the_csrf_token(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str], action: str
) -> None:
    reference, link = booked
    before = await snapshot(app, reference)
    r = await client.post(f"{link}/{action}", data={"slot": "2030-01-01T09:00Z"})
    assert r.status_code == 403
    r = await client.post(f"{link}/{action}", data={"csrf_token": "x" * 43})
    assert r.status_code == 403
    assert await snapshot(app, reference) == before


# Named ids: the random tokens differ between pytest-xdist workers, and the workers must
# collect the same test names.
@pytest.mark.parametrize("path", [
    "/t/nonsense", "/t/" + "A" * 43, "/t/" + secrets.token_urlsafe(32),
    "/t/" + "x" * 500, "/t/%ff%fe", "/t/" + secrets.token_urlsafe(32) + "/cancel",
    "/t/" + secrets.token_urlsafe(32) + "/reschedule",
    "/t/" + secrets.token_urlsafe(32) + "/calendar.ics",
], ids=["nonsense", "all-A", "random", "too-long", "not-utf-8", "random-cancel",
        "random-reschedule", "random-calendar"])
async def test_unknown_links_get_the_friendly_page(
    client: httpx.AsyncClient, seeded: Seed, path: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert "Dieser Link funktioniert nicht" in r.text
    assert h1_count(r.text) == 1 and 'href="/book"' in r.text


async def test_a_nul_in_a_link_is_refused_with_an_error_page(
    client: httpx.AsyncClient, seeded: Seed
) -> None:
    r = await client.get("/t/%00%ff")
    assert r.status_code == 400
    assert "nicht erlaubt" in r.text and h1_count(r.text) == 1


async def test_unknown_link_post_gets_the_friendly_page(
    client: httpx.AsyncClient, seeded: Seed
) -> None:
    _, _, page = await walk_to_details(client, seeded)
    r = await client.post("/t/" + secrets.token_urlsafe(32) + "/confirm",
                          data={"csrf_token": csrf_of(page)})
    assert r.status_code == 404 and "Dieser Link funktioniert nicht" in r.text


async def test_expired_link_is_like_an_unknown_one(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    async with app_ctx(app).db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(link_expires_at=utcnow() - timedelta(seconds=1)))
    r = await client.get(link)
    assert r.status_code == 404 and "Dieser Link funktioniert nicht" in r.text
    assert reference not in r.text


async def test_lapsed_hold_shows_expired_and_cannot_be_confirmed(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    page = (await client.get(link)).text
    async with app_ctx(app).db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    r = await client.get(link)
    assert "Verfallen – nicht rechtzeitig bestätigt" in r.text
    assert f"{link}/confirm" not in r.text and "Neuen Termin buchen" in r.text
    r = await client.post(f"{link}/confirm", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409
    assert 'id="action-error"' in r.text
    assert (await load(app, reference)).status != "confirmed"


async def test_calendar_download(
    app: Starlette, client: httpx.AsyncClient, booked: tuple[str, str]
) -> None:
    reference, link = booked
    r = await client.get(f"{link}/calendar.ics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    assert r.headers["content-disposition"] == f'attachment; filename="termin-{reference}.ics"'
    calendar = Calendar.from_ical(r.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    start: Any = events[0]["DTSTART"]
    assert start.dt == (await load(app, reference)).start_at
    # The same file as the API's (app/api/citizen.py calendar_response): the sender organizes.
    assert str(events[0]["ORGANIZER"]) == f"mailto:{app.state.ctx.settings.mail_from}"


async def test_the_link_page_and_the_api_give_the_same_calendar_file(
    settings_factory: Callable[..., Settings],
) -> None:
    """One calendar download (``booking.ics.calendar_download``) behind the link page and the
    API: the same file name and the same event, with the sender's address as organizer, as
    the mails have it."""
    application = create_app(settings_factory(
        mail_from="Bürgerbüro Musterstadt <termine@musterstadt.example>"))
    async with running(application):
        seeded = await seed(application)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            reference = await book_via_pages(client, seeded)
            token = await token_of(application, reference)
            page = await client.get(f"/t/{token}/calendar.ics")
            api = await client.get("/api/v1/me/calendar.ics",
                                   headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == api.status_code == 200
    expected = f'attachment; filename="termin-{reference}.ics"'
    assert page.headers["content-disposition"] == api.headers["content-disposition"] == expected
    events = [Calendar.from_ical(r.content).walk("VEVENT")[0] for r in (page, api)]
    assert [str(e["ORGANIZER"]) for e in events] == ["mailto:termine@musterstadt.example"] * 2
    for event in events:
        del event["DTSTAMP"]  # the moment of the download
    assert events[0].to_ical() == events[1].to_ical()


async def test_page_speaks_the_booking_language_until_one_is_chosen(
    app: Starlette, seeded: Seed
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as booker:
        await booker.get("/?lang=en")
        reference = await book_via_pages(booker, seeded)
    assert (await load(app, reference)).locale == "en"
    link = f"/t/{await token_of(app, reference)}"
    # A fresh browser (the mail app) without a language cookie.
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
        r = await reader.get(link)
        assert '<html lang="en">' in r.text and "Your appointment" in r.text
        r = await reader.get(f"{link}?lang=de")
        assert '<html lang="de">' in r.text and "Ihr Termin" in r.text
        r = await reader.get(link)  # the choice is remembered
        assert '<html lang="de">' in r.text


async def test_link_pages_are_rate_limited(settings_factory: Callable[..., Settings]) -> None:
    application = create_app(
        settings_factory(rate_limits_enabled=True, rate_limit_token="3/minute"))
    async with running(application):
        await seed(application)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            statuses = [(await c.get("/t/" + "A" * 43)).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


async def test_reschedule_errors_keep_the_day(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed, booked: tuple[str, str]
) -> None:
    reference, link = booked
    before = await snapshot(app, reference)
    r = await client.get(f"{link}/reschedule")
    day = radio_values(r.text, "day")[0]
    r = await client.get(f"{link}/reschedule?day={day}")
    csrf = csrf_of(r.text)
    free = radio_values(r.text, "slot")
    # Sent without choosing a time: the same day's times again, with the error.
    r = await client.post(f"{link}/reschedule", data={"csrf_token": csrf, "day": day})
    assert r.status_code == 422
    assert "Bitte wählen Sie eine Uhrzeit." in r.text and 'href="#slot"' in r.text
    assert radio_values(r.text, "slot") == free
    # A time someone else has taken meanwhile.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        taken = await book_via_pages(other, seeded, pick=len(free) - 1, email="o@example.org")
    taken_slot = (await load(app, taken)).start_at
    target = next(v for v in free if parse_slot(v) == taken_slot)
    r = await client.post(f"{link}/reschedule", data={"csrf_token": csrf, "day": day,
                                                      "slot": target})
    assert r.status_code == 409
    assert "gerade von jemand anderem gebucht" in r.text
    assert target not in radio_values(r.text, "slot")
    # Not a slot at all (off the grid).
    r = await client.post(f"{link}/reschedule", data={"csrf_token": csrf, "day": day,
                                                      "slot": "2020-01-01T09:07Z"})
    assert r.status_code == 422 and "nicht mehr frei" in r.text
    assert await snapshot(app, reference) == (*before[:-3], *await counts(app))
