"""Admin pages: create, edit and delete through forms, errors beside the fields."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from booking.models import Closure, Office, Schedule, Service
from staff.models import StaffUser
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    PASSWORD,
    add_appointment,
    add_office,
    add_service,
    add_user,
    audit_events,
    context,
    form_token,
    next_weekday_at,
    page_login,
)


@pytest.fixture
async def admin_client(app: Starlette, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await add_user(app, ADMIN_EMAIL, "admin")
    r = await page_login(client, ADMIN_EMAIL)
    assert r.status_code == 303
    return client


async def submit(client: httpx.AsyncClient, url: str, data: dict[str, object],
                 form_url: str | None = None) -> httpx.Response:
    page = await client.get(form_url or url)
    assert page.status_code == 200, page.text
    return await client.post(url, data={**data, "csrf_token": form_token(page.text)})


def input_tag(html: str, name: str) -> str:
    match = re.search(rf'<(input|textarea|select)[^>]*name="{name}"[^>]*>', html)
    assert match is not None, f"no field {name}"
    return match.group(0)


async def objects(app: Starlette, model: type) -> list:  # type: ignore[type-arg]
    async with context(app).db.transaction() as session:
        rows = list((await session.execute(select(model))).scalars())
        for row in rows:
            session.expunge(row)
        return rows


async def test_office_create_edit_delete(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    r = await submit(admin_client, "/admin/offices/new", {
        "name": "Bürgerbüro Ruit", "timezone": "Europe/Berlin", "min_notice_minutes": "30",
        "horizon_days": "45", "address": "Stadt Ostfildern\nRuit",
        "iban": "DE89 3704 0044 0532 0130 00",
    })
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/offices?done=created"
    listing = await admin_client.get(r.headers["location"])
    assert "Bürgerbüro Ruit" in listing.text
    assert "Gespeichert" in listing.text
    assert '<th scope="col">' in listing.text
    [office] = await objects(app, Office)
    assert office.iban == "DE89370400440532013000" and office.horizon_days == 45

    edit_url = f"/admin/offices/{office.id}"
    page = await admin_client.get(edit_url)
    assert 'value="Bürgerbüro Ruit"' in page.text
    assert "Stadt Ostfildern\nRuit</textarea>" in page.text
    r = await submit(admin_client, edit_url, {
        "name": "Bürgerbüro Ruit-Kemnat", "timezone": "Europe/Berlin", "min_notice_minutes": "30",
        "horizon_days": "90", "iban": "DE89370400440532013000",
    })
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/offices?done=updated"
    [office] = await objects(app, Office)
    assert office.name == "Bürgerbüro Ruit-Kemnat" and office.horizon_days == 90

    delete_url = f"/admin/offices/{office.id}/delete"
    confirm = await admin_client.get(delete_url)
    assert "Bürgerbüro Ruit-Kemnat" in confirm.text
    assert 'id="confirm-delete"' in confirm.text
    assert (await admin_client.post(delete_url, data={})).status_code == 403  # no CSRF
    assert await objects(app, Office) != []
    r = await admin_client.post(delete_url, data={"csrf_token": form_token(confirm.text)})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/offices?done=deleted"
    assert await objects(app, Office) == []
    actions = [e.action for e in await audit_events(app)]
    assert actions[-3:] == ["office.create", "office.update", "office.delete"]


async def test_errors_are_shown_beside_the_fields(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    r = await submit(admin_client, "/admin/offices/new", {
        "name": "Bürgerbüro Ruit", "timezone": "Mars/Olympus", "min_notice_minutes": "viele",
        "horizon_days": "60", "iban": "DE89 3704 0044 0532 0130 01",
    })
    assert r.status_code == 422
    html = r.text
    for field in ("timezone", "min_notice_minutes", "iban"):
        tag = input_tag(html, field)
        assert 'aria-invalid="true"' in tag, field
        assert f"{field}-error" in tag, field
        assert f'id="{field}-error"' in html
        assert f'href="#{field}"' in html  # the summary links to the field
    assert 'aria-invalid' not in input_tag(html, "name")
    assert "gültige IANA-Zeitzone" in html
    assert "Prüfziffern der IBAN" in html
    # What the admin typed is kept.
    assert 'value="Bürgerbüro Ruit"' in html and 'value="Mars/Olympus"' in html
    assert 'value="viele"' in html
    assert await objects(app, Office) == []

    english = await submit(admin_client, "/admin/offices/new?lang=en",
                           {"name": "", "timezone": "Europe/Berlin"})
    assert english.status_code == 422
    assert "This field is required." in english.text


async def test_duplicate_is_shown_beside_the_name(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    await add_office(app, "Mitte")
    r = await submit(admin_client, "/admin/offices/new", {"name": "mitte",
                                                          "timezone": "Europe/Berlin"})
    assert r.status_code == 409
    assert 'id="name-error"' in r.text
    assert 'aria-invalid="true"' in input_tag(r.text, "name")


async def test_form_posts_need_csrf(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    r = await admin_client.post("/admin/offices/new", data={"name": "X"})
    assert r.status_code == 403
    r = await admin_client.post("/admin/offices/new", data={"name": "X", "csrf_token": "bad"})
    assert r.status_code == 403
    assert await objects(app, Office) == []


async def test_service_form_with_euros_and_offices(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    a = await add_office(app, "Mitte")
    b = await add_office(app, "Nord")
    page = await admin_client.get("/admin/services/new")
    r = await admin_client.post("/admin/services/new", data={
        "name": "Führungszeugnis", "duration_minutes": "20", "fee_cents": "13,00",
        "video": "yes", "active": "yes", "sort_order": "5", "office_ids": [str(a), str(b)],
        "csrf_token": form_token(page.text),
    })
    assert r.status_code == 303, r.text
    [service] = await objects(app, Service)
    assert service.fee_cents == 1300
    assert service.requires_identity is False  # unchecked box
    edit = await admin_client.get(f"/admin/services/{service.id}")
    assert 'value="13,00"' in edit.text
    assert re.search(rf'value="{a}"\s+checked', edit.text)

    r = await submit(admin_client, f"/admin/services/{service.id}", {
        "name": "Führungszeugnis", "duration_minutes": "481", "fee_cents": "13.5x",
        "office_ids": ["4242"],
    })
    assert r.status_code == 422
    for field in ("duration_minutes", "fee_cents"):
        assert f'id="{field}-error"' in r.text


async def test_schedule_end_before_start(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    data = {"office_id": str(office_id), "service_ids": [str(service_id)],
            "weekdays": ["0", "1"], "start_time": "12:00", "end_time": "09:00",
            "slot_minutes": "15", "capacity": "2", "valid_from": "2026-01-01",
            "valid_until": ""}
    r = await submit(admin_client, "/admin/schedules/new", data)
    assert r.status_code == 422
    assert 'id="end_time-error"' in r.text
    assert "Das Ende muss nach dem Beginn liegen." in r.text
    r = await submit(admin_client, "/admin/schedules/new", {**data, "end_time": "16:00"})
    assert r.status_code == 303
    [schedule] = await objects(app, Schedule)
    assert schedule.weekdays == "0,1" and schedule.valid_until is None


async def test_closure_reports_affected_appointments(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    start = next_weekday_at(10)
    await add_appointment(app, office_id=office_id, service_id=service_id, start=start)
    day = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).date()
    r = await submit(admin_client, "/admin/closures/new", {
        "office_id": str(office_id), "date": day.isoformat(), "reason": "Betriebsausflug"})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/closures?done=created&affected=1"
    listing = await admin_client.get(r.headers["location"])
    assert "1 aktiver Termin liegt auf diesem Tag" in listing.text
    assert "Betriebsausflug" in listing.text
    [closure] = await objects(app, Closure)
    assert closure.office_id == office_id

    # All offices: an empty choice.
    r = await submit(admin_client, "/admin/closures/new", {"office_id": "", "date": "2026-12-25"})
    assert r.status_code == 303
    assert any(c.office_id is None for c in await objects(app, Closure))


async def test_delete_refused_while_booked(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    await add_appointment(app, office_id=office_id, service_id=service_id,
                          start=next_weekday_at(9))
    url = f"/admin/services/{service_id}/delete"
    confirm = await admin_client.get(url)
    r = await admin_client.post(url, data={"csrf_token": form_token(confirm.text)})
    assert r.status_code == 409
    assert 'id="delete-alert"' in r.text
    assert "kommende Termine" in r.text
    assert len(await objects(app, Service)) == 1


async def test_user_form(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    office_id = await add_office(app)
    data = {"email": CLERK_EMAIL, "display_name": "Clara", "role": "clerk",
            "office_ids": [str(office_id)], "active": "yes", "password": "Passwort2024!"}
    r = await submit(admin_client, "/admin/users/new", data)
    assert r.status_code == 422
    assert 'id="password-error"' in r.text
    assert "Passwort2024!" not in r.text  # never shown again
    assert f'value="{CLERK_EMAIL}"' in r.text

    r = await submit(admin_client, "/admin/users/new", {**data, "password": PASSWORD})
    assert r.status_code == 303
    clerk = next(u for u in await objects(app, StaffUser) if u.email == CLERK_EMAIL)
    old_hash = clerk.password_hash

    # Editing without a password keeps it.
    r = await submit(admin_client, f"/admin/users/{clerk.id}",
                     {**data, "display_name": "Clara C.", "password": ""})
    assert r.status_code == 303
    clerk = next(u for u in await objects(app, StaffUser) if u.email == CLERK_EMAIL)
    assert clerk.display_name == "Clara C." and clerk.password_hash == old_hash

    # An admin cannot delete their own account from the page either.
    me = next(u for u in await objects(app, StaffUser) if u.email == ADMIN_EMAIL)
    confirm = await admin_client.get(f"/admin/users/{me.id}/delete")
    r = await admin_client.post(f"/admin/users/{me.id}/delete",
                                data={"csrf_token": form_token(confirm.text)})
    assert r.status_code == 409


async def test_unknown_pages_are_404(app: Starlette, admin_client: httpx.AsyncClient) -> None:
    for path in ("/admin/nothing", "/admin/offices/4242", "/admin/offices/4242/delete",
                 "/admin/offices/99999999999999"):
        r = await admin_client.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]
    page = await admin_client.get("/admin/offices/new")
    r = await admin_client.post("/admin/offices/4242",
                                data={"name": "X", "csrf_token": form_token(page.text)})
    assert r.status_code == 404


async def test_every_list_and_form_renders(
    app: Starlette, admin_client: httpx.AsyncClient
) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    for resource in ("offices", "services", "schedules", "closures", "users"):
        for path in (f"/admin/{resource}", f"/admin/{resource}/new"):
            r = await admin_client.get(path)
            assert r.status_code == 200, path
            assert "<h1>" in r.text
    assert "Meldebescheinigung" in (await admin_client.get("/admin/services")).text
    assert (await admin_client.get(f"/admin/services/{service_id}")).status_code == 200
    index = await admin_client.get("/admin")
    assert index.status_code == 200
    assert 'href="/admin/schedules/new"' in index.text
