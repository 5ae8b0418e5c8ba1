"""Web security on every route: the security headers on every response (pages, subpages, API,
errors, static files, the agenda's and the inbox's event streams), HSTS only in production,
staff cookies Secure and SameSite behind https, and CSRF on every state-changing page POST.

Routes are enumerated from the app itself, so a page added later is checked without editing
this file; path parameters are filled with real values (a confirmed appointment's link token
and reference, real ids) so the handlers get past their lookups.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from starlette.applications import Starlette
from starlette.routing import Route

from app.all_models import metadata
from app.main import STATIC_DIR, create_app
from app.settings import Settings
from booking.models import Appointment
from tests.app.pages.call_helpers import (
    CLERK_EMAIL,
    PASSWORD,
    add_appointment,
    add_clerk,
    form_token,
    login,
    seed_offices,
)
from tests.app.pages.call_helpers import quick_hashes as quick_hashes
from tests.conftest import live_server, running

ADMIN_EMAIL = "admin@musterstadt.example"
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")
# Streams that do not end on their own: only their response head is read.
STREAMING = {"/staff/agenda/events", "/staff/requests/events"}


@dataclass
class World:
    app: Starlette
    base: str
    token: str
    reference: str
    office_id: int
    service_id: int

    def fill(self, path: str) -> str:
        values = {
            "token": self.token, "reference": self.reference, "id": str(self.office_id),
            "resource": "offices", "attempt": "unknown-attempt", "test_id": "unknown-test",
            "case_number": "2026-000001", "table": "key_figures",
        }

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in values, f"no value for path parameter {name!r} in {path}"
            return values[name]

        return PARAM.sub(one, path)


def routes_of(app: Starlette, method: str) -> list[str]:
    return sorted({r.path for r in app.routes
                   if isinstance(r, Route) and r.methods and method in r.methods})


def static_files() -> list[str]:
    return sorted("/static/" + p.relative_to(STATIC_DIR).as_posix()
                  for p in Path(STATIC_DIR).rglob("*") if p.is_file())


def assert_security_headers(r: httpx.Response, *, production: bool = False) -> None:
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    csp = r.headers.get("content-security-policy", "")
    assert csp, f"{where}: no Content-Security-Policy"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, f"{where}: {csp}"
    assert "frame-ancestors 'none'" in csp, f"{where}: {csp}"
    assert "default-src 'self'" in csp, f"{where}: {csp}"
    assert r.headers.get("referrer-policy") == "no-referrer", where
    permissions = r.headers.get("permissions-policy", "")
    assert "camera=(self)" in permissions and "microphone=(self)" in permissions, where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    hsts = r.headers.get("strict-transport-security")
    if production:
        assert hsts is not None and "max-age=" in hsts, f"{where}: no HSTS in production"
        assert int(hsts.split("max-age=", 1)[1].split(";", 1)[0]) >= 15552000, where
    else:
        assert hsts is None, f"{where}: HSTS outside production"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def world(settings: Settings, quick_hashes: None) -> AsyncIterator[World]:
    app = create_app(settings)
    async with live_server(app) as base:
        seed = await seed_offices(app)
        reference, token = await add_appointment(app, seed)
        await add_clerk(app, [seed.office_id], email=ADMIN_EMAIL, role="admin")
        await add_clerk(app, [seed.office_id], email=CLERK_EMAIL)
        yield World(app, base, token, reference, seed.office_id, seed.service_id)


@pytest.fixture
async def staff_client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as c:
        await login(c, ADMIN_EMAIL)
        yield c


def page_urls(world: World) -> Iterator[str]:
    for path in routes_of(world.app, "GET"):
        yield world.fill(path)
    # The booking steps, a language switch, error pages, static files.
    yield f"/book?service={world.service_id}"
    yield f"/book?service={world.service_id}&day=2099-01-01"
    yield "/?lang=en"
    yield "/no-such-page"
    yield "/t/not-a-valid-token"
    yield "/api/v1/no-such-endpoint"
    yield "/api/v1/availability?service_id=abc"
    yield from static_files()
    yield "/static/no-such-file.css"


async def test_every_get_route_has_the_security_headers(
    world: World, staff_client: httpx.AsyncClient
) -> None:
    seen = 0
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as anonymous:
        for url in page_urls(world):
            for client in (staff_client, anonymous):
                if url.split("?", 1)[0] in STREAMING:
                    async with client.stream("GET", url) as r:
                        assert_security_headers(r)
                else:
                    r = await client.get(url)
                    assert r.status_code < 500, f"GET {url}: {r.status_code}"
                    assert_security_headers(r)
                seen += 1
    assert seen > 100  # the app has many routes; a broken enumeration would check few


async def test_the_main_pages_render(world: World, staff_client: httpx.AsyncClient) -> None:
    """The pages above are checked with real content, not only as error pages."""
    pages = ["/", "/book", f"/book?service={world.service_id}", f"/t/{world.token}",
             f"/t/{world.token}/call", "/staff", f"/staff/call/{world.reference}", "/admin",
             "/admin/offices", "/privacy", "/status"]
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as anonymous:
        login_page = await anonymous.get("/staff/login")  # signed in, it redirects to /staff
    for r in [login_page, *[await staff_client.get(url) for url in pages]]:
        assert r.status_code == 200, f"{r.request.url.path}: {r.status_code}"
        assert r.headers["content-type"].startswith("text/html")
        assert_security_headers(r)


async def test_api_and_error_responses_have_the_headers(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as c:
        for r in (
            await c.post("/api/v1/appointments", content=b"{", headers={
                "content-type": "application/json"}),
            await c.get("/api/v1/me", headers={"Authorization": "Bearer nope"}),
            await c.delete("/api/v1/offices"),
            await c.post("/api/v1/auth/token", json={"email": "x@example.org",
                                                      "password": "wrong"}),
        ):
            assert 400 <= r.status_code < 500
            assert_security_headers(r)


# --- production: HSTS and secure cookies ----------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_hsts_and_secure_cookies_in_production(
    settings_factory: Callable[..., Settings], quick_hashes: None
) -> None:
    settings = settings_factory(env="production", base_url="https://buergerbuero.example.de",
                                secret_key=secrets.token_urlsafe(32),
                                clamd_address="tcp:127.0.0.1:3310")
    app = create_app(settings)
    async with running(app):
        seed = await seed_offices(app)
        reference, token = await add_appointment(app, seed)
        await add_clerk(app, [seed.office_id], email=ADMIN_EMAIL, role="admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport,
                                     base_url="https://buergerbuero.example.de") as c:
            for url in ("/", "/book", f"/t/{token}", "/staff/login", "/api/v1/offices",
                        "/no-such-page", "/healthz", static_files()[0]):
                assert_security_headers(await c.get(url), production=True)
            page = await c.get("/staff/login")
            r = await c.post("/staff/login", data={
                "email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": form_token(page.text)})
            assert r.status_code == 303, r.text
            cookies = r.headers.get_list("set-cookie")
            session = [v for v in cookies if v.startswith("buero_staff=")]
            assert session, cookies
            attributes = {part.strip().lower() for part in session[0].split(";")}
            assert "secure" in attributes and "httponly" in attributes
            assert any(a.startswith("samesite=") and a != "samesite=none" for a in attributes)
            # The pre-login cookie is just as protected.
            for value in page.headers.get_list("set-cookie"):
                lowered = value.lower()
                assert "secure" in lowered and "samesite=" in lowered, value
            staff = await c.get(f"/staff/call/{reference}")
            assert staff.status_code == 200
            assert_security_headers(staff, production=True)


async def test_staff_cookie_is_not_secure_over_plain_http(world: World) -> None:
    """Development over http://: a Secure cookie would never come back, so it is not set."""
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as c:
        page = await c.get("/staff/login")
        r = await c.post("/staff/login", data={
            "email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": form_token(page.text)})
        session = [v for v in r.headers.get_list("set-cookie") if v.startswith("buero_staff=")]
        assert session and "secure" not in session[0].lower()
        assert "samesite=lax" in session[0].lower()


# --- CSRF on every state-changing page POST -------------------------------------------------


async def fingerprint(app: Starlette) -> dict[str, object]:
    """Row counts of every table and every appointment's status: a POST that changed
    anything changes this."""
    found: dict[str, object] = {}
    async with app.state.ctx.db.transaction() as session:
        for table in metadata.sorted_tables:
            found[table.name] = (await session.execute(
                select(func.count()).select_from(table))).scalar_one()
        statuses = await session.execute(
            select(Appointment.reference, Appointment.status, Appointment.start_at))  # type: ignore[call-overload]
        found["appointments"] = sorted((str(a), str(b), str(c)) for a, b, c in statuses)
        found["sessions"] = (await session.execute(
            text("SELECT count(*) FROM staff_session"))).scalar_one()
    return found


def form_for(path: str, world: World) -> dict[str, str]:
    """Plausible fields (so only the missing token can be the reason for a refusal)."""
    return {
        "email": ADMIN_EMAIL, "password": PASSWORD, "name": "Neues Amt",
        "timezone": "Europe/Berlin", "status": "printed", "service": str(world.service_id),
        "reason": "csrf probe", "confirm": "yes", "outcome": "verified",
        "document_type": "id_card", "payment": "none", "delivery": "pickup",
        "given_name": "Erika", "family_name": "Mustermann", "consent": "yes",
        "case_number": "2026-000001", "date_of_birth": "1964-08-12",
    }


async def test_every_page_post_needs_the_csrf_token(
    world: World, staff_client: httpx.AsyncClient
) -> None:
    posts = [p for p in routes_of(world.app, "POST") if not p.startswith("/api/")]
    assert len(posts) >= 15, posts
    before = await fingerprint(world.app)
    # Whatever pre-form cookies the site hands out: each anonymous POST below is sent with them
    # but without the token (a forged cross-site form has the cookies but not the token), from
    # a client of its own, so no POST sees what an earlier one was answered.
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as visitor:
        await visitor.get(world.fill(f"/t/{world.token}"))
        await visitor.get("/book")
        await visitor.get("/staff/login")
        pre_form = httpx.Cookies(visitor.cookies)
    assert len(pre_form) > 0
    for path in posts:
        url = world.fill(path)
        for client_kind in ("staff", "anonymous-with-citizen-cookie"):
            if client_kind == "staff":
                r = await staff_client.post(url, data=form_for(path, world))
            else:
                async with httpx.AsyncClient(base_url=world.base, timeout=30,
                                             cookies=httpx.Cookies(pre_form)) as c:
                    r = await c.post(url, data=form_for(path, world))
            signed_out = client_kind != "staff" and (r.status_code == 401 or (
                r.status_code == 303 and r.headers["location"].startswith("/staff/login")))
            # A staff page asks the anonymous poster to sign in first; that changes nothing
            # either (the fingerprint below).
            assert r.status_code == 403 or signed_out, (
                f"POST {path} ({client_kind}): {r.status_code}")
            assert_security_headers(r)
        # A wrong token is refused the same way.
        r = await staff_client.post(url, data={**form_for(path, world), "csrf_token": "forged"})
        assert r.status_code == 403, f"POST {path} with a forged token: {r.status_code}"
    assert await fingerprint(world.app) == before
    # The session survived the refused logout, and the right token does work.
    page = await staff_client.get("/staff")
    assert page.status_code == 200
    r = await staff_client.post("/staff/logout", data={"csrf_token": form_token(page.text)})
    assert r.status_code == 303
    assert (await staff_client.get("/staff")).status_code == 303
