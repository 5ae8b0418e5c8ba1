"""Staff pages: login with CSRF, sessions, logout, the agenda, role checks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from app import csrf
from app.main import create_app
from app.settings import Settings
from staff.models import StaffSession
from tests.conftest import running
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    PASSWORD,
    add_appointment,
    add_office,
    add_service,
    add_user,
    context,
    form_token,
    page_login,
    session_token,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie set")


async def test_login_page_has_the_contract_fields(client: httpx.AsyncClient) -> None:
    r = await client.get("/staff/login")
    assert r.status_code == 200
    assert 'name="email"' in r.text and 'name="password"' in r.text
    assert '<label for="email">' in r.text and '<label for="password">' in r.text
    assert 'autocomplete="current-password"' in r.text
    assert "Anmeldung für Mitarbeitende" in r.text  # German by default
    cookie = _set_cookie(r, "buero_csrf")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    english = await client.get("/staff/login?lang=en")
    assert "Staff login" in english.text
    assert '<html lang="en">' in english.text


async def test_login_sets_a_session_cookie(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    r = await page_login(client, CLERK_EMAIL)
    assert r.status_code == 303
    assert r.headers["location"] == "/staff"
    cookie = _set_cookie(r, "buero_staff")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # http base URL in tests
    token = client.cookies["buero_staff"]
    async with context(app).db.transaction() as session:
        stored = (await session.execute(select(StaffSession))).scalars().one()
        assert stored.kind == "web" and stored.token_hash != token
    agenda = await client.get("/staff")
    assert agenda.status_code == 200
    assert CLERK_EMAIL in agenda.text
    # The page's forms carry a token bound to this session, not only to the browser's cookie.
    key, browser = context(app).secret_key, client.cookies["buero_csrf"]
    assert len(browser) >= 32
    assert form_token(agenda.text) == csrf.token(key, browser, stored.token_hash)
    assert form_token(agenda.text) != csrf.token(key, browser)


async def test_cookie_is_secure_behind_https(
    settings_factory: Callable[..., Settings]
) -> None:
    application = create_app(settings_factory(base_url="https://buero.example"))
    async with running(application):
        await add_user(application, CLERK_EMAIL)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="https://buero.example") as c:
            r = await page_login(c, CLERK_EMAIL)
            assert r.status_code == 303
            assert "Secure" in _set_cookie(r, "buero_staff")


async def test_login_form_needs_its_csrf_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    page = await client.get("/staff/login")
    token = form_token(page.text)
    # The token with its first character changed (a token may start with "x" itself).
    forged = ("y" if token[0] == "x" else "x") + token[1:]
    for data in ({"email": CLERK_EMAIL, "password": PASSWORD},
                 {"email": CLERK_EMAIL, "password": PASSWORD, "csrf_token": forged},
                 {"email": CLERK_EMAIL, "password": PASSWORD, "csrf_token": "äöü"}):
        r = await client.post("/staff/login", data=data)
        assert r.status_code == 403
        assert "buero_staff" not in r.headers.get("set-cookie", "")
    # The token is bound to this browser's pre-session cookie.
    client.cookies.clear()
    r = await client.post("/staff/login",
                          data={"email": CLERK_EMAIL, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 403


async def test_wrong_password_shows_the_error_beside_the_field(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, CLERK_EMAIL)
    r = await page_login(client, CLERK_EMAIL, "not-the-password")
    assert r.status_code == 401
    assert 'id="password-error"' in r.text
    assert "Die E-Mail-Adresse oder das Passwort ist falsch." in r.text
    field = re.search(r'<input type="password"[^>]*>', r.text)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="password-error"' in field.group(0)
    assert f'value="{CLERK_EMAIL}"' in r.text  # the address is kept
    assert "not-the-password" not in r.text  # the password is not


async def test_empty_fields(client: httpx.AsyncClient) -> None:
    page = await client.get("/staff/login")
    r = await client.post("/staff/login", data={"email": "", "password": "",
                                                "csrf_token": form_token(page.text)})
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and 'id="password-error"' in r.text
    assert 'class="error-summary"' in r.text


async def test_page_lockout(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    statuses = [(await page_login(client, CLERK_EMAIL, "wrong-wrong-wrong")).status_code
                for _ in range(context(app).settings.login_max_failures)]
    assert statuses[-1] == 429
    r = await page_login(client, CLERK_EMAIL)
    assert r.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in r.text


async def test_pages_redirect_to_login(client: httpx.AsyncClient) -> None:
    for path in ("/staff", "/admin", "/admin/offices?x=1"):
        r = await client.get(path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/staff/login?next=")
    r = await client.get("/admin/offices?x=1")
    assert r.headers["location"] == "/staff/login?next=/admin/offices%3Fx%3D1"


async def test_next_is_followed_only_within_the_site(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    r = await page_login(client, ADMIN_EMAIL, next_url="/admin/offices")
    assert r.headers["location"] == "/admin/offices"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        r = await page_login(client, ADMIN_EMAIL, next_url=evil)
        assert r.headers["location"] == "/staff", evil


async def test_logout_needs_csrf_and_ends_the_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, CLERK_EMAIL)
    await page_login(client, CLERK_EMAIL)
    token = await session_token(client)
    assert (await client.post("/staff/logout", data={})).status_code == 403
    assert (await client.post("/staff/logout", data={"csrf_token": "wrong"})).status_code == 403
    cookie = client.cookies["buero_staff"]
    r = await client.post("/staff/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/login?logged_out=1"
    # The old cookie no longer opens a page, even if a browser kept it.
    client.cookies.set("buero_staff", cookie)
    assert (await client.get("/staff")).status_code == 303
    async with context(app).db.transaction() as session:
        assert (await session.execute(select(StaffSession))).scalars().all() == []


async def test_a_form_token_works_only_in_its_own_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, CLERK_EMAIL)
    # A token from a page without a session (the login form, any citizen page) ...
    before = form_token((await client.get("/staff/login")).text)
    status_page = form_token((await client.get("/status")).text)
    await page_login(client, CLERK_EMAIL)
    # ... is no token for a signed-in form.
    for stale in (before, status_page):
        assert (await client.post("/staff/logout", data={"csrf_token": stale})).status_code \
            == 403
    first = await session_token(client)
    # A second login in the same browser (same CSRF cookie): the first session's tokens are void.
    client.cookies.delete("buero_staff")
    assert (await page_login(client, CLERK_EMAIL)).status_code == 303
    assert (await client.post("/staff/logout", data={"csrf_token": first})).status_code == 403
    second = await session_token(client)
    assert second != first
    assert (await client.post("/staff/logout", data={"csrf_token": second})).status_code == 303


async def test_signed_in_staff_have_the_larger_form_limits(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    many = "&".join(f"f{i}=1" for i in range(100)).encode()  # over the anonymous 40 fields
    big = b"note=" + b"x" * 9_000 + b"&" + b"&".join(b"n=" + b"y" * 8_000 for _ in range(3))
    for body in (many, big):  # before the login: refused by the limits
        r = await client.post("/staff/login", content=body, headers=form)
        assert r.status_code in (400, 413) and "text/html" in r.headers["content-type"]
    await add_user(app, CLERK_EMAIL)
    await page_login(client, CLERK_EMAIL)
    for body in (many, big):  # signed in: within the limits, so only the token is missing
        assert (await client.post("/staff/logout", content=body, headers=form)).status_code \
            == 403
    r = await client.post("/staff/logout", content=b"x" * (64 * 1024 + 1), headers=form)
    assert r.status_code == 413 and "Dieses Formular ist zu groß" in r.text
    r = await client.post("/staff/logout", headers=form,
                          content="&".join(f"f{i}=1" for i in range(401)).encode())
    assert r.status_code == 400 and "mehr Felder oder längere Eingaben" in r.text
    assert (await client.get("/staff")).status_code == 200  # nothing of this signed out


async def test_clerk_gets_403_on_admin_pages(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    await page_login(client, CLERK_EMAIL)
    for path in ("/admin", "/admin/offices", "/admin/users/new"):
        r = await client.get(path)
        assert r.status_code == 403
        assert "text/html" in r.headers["content-type"]
    agenda = await client.get("/staff")
    assert 'href="/admin"' not in agenda.text


async def test_agenda_shows_the_day_of_my_offices(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    mine = await add_office(app, "Mitte")
    other = await add_office(app, "Nord")
    service_id = await add_service(app, [mine, other], name="Lebensbescheinigung")
    today = dt.datetime.now(BERLIN).date()
    tomorrow = today + dt.timedelta(days=1)
    await add_appointment(app, office_id=mine, service_id=service_id, given_name="Anna",
                          family_name="Heute",
                          start=dt.datetime.combine(today, dt.time(23, 30), BERLIN))
    await add_appointment(app, office_id=mine, service_id=service_id, given_name="Bernd",
                          family_name="Morgen",
                          start=dt.datetime.combine(tomorrow, dt.time(0, 15), BERLIN))
    await add_appointment(app, office_id=other, service_id=service_id, given_name="Carla",
                          family_name="Anderswo",
                          start=dt.datetime.combine(today, dt.time(10), BERLIN))
    await add_appointment(app, office_id=mine, service_id=service_id, given_name="Dora",
                          family_name="Verfallen", status="expired",
                          start=dt.datetime.combine(today, dt.time(11), BERLIN))
    await add_user(app, CLERK_EMAIL, office_ids=[mine])
    await page_login(client, CLERK_EMAIL)

    r = await client.get("/staff")
    assert r.status_code == 200
    assert "Anna Heute" in r.text and "23:30" in r.text
    assert "Lebensbescheinigung" in r.text and "Bestätigt" in r.text
    assert '<th scope="col">' in r.text
    assert "Bernd Morgen" not in r.text  # tomorrow, in the office's time zone
    assert "Carla Anderswo" not in r.text  # not my office
    assert "Dora Verfallen" not in r.text  # a lapsed hold

    r = await client.get(f"/staff?date={tomorrow.isoformat()}&lang=en")
    assert "Bernd Morgen" in r.text and "Anna Heute" not in r.text
    assert "Confirmed" in r.text

    r = await client.get("/staff?date=2026-13-45")
    assert r.status_code == 200
    assert 'id="date-error"' in r.text


async def test_agenda_without_office(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    await page_login(client, CLERK_EMAIL)
    r = await client.get("/staff")
    assert r.status_code == 200
    assert "keinem Bürgerbüro zugeordnet" in r.text
