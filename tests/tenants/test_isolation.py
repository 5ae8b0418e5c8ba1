"""Isolation that holds everywhere: every route of the app, tried by town A's admin and clerk
on town B's objects, answers 403 or 404 and shows nothing of B's; a route without an object in
its path (lists, exports, live streams) shows none of B's objects; town B's citizen links do
nothing on town A's host; and the WebSocket refuses them there."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette
from starlette.routing import Route

from app.pages import desk, inbox
from booking.models import Appointment, Closure, Office
from core.jobs import Job
from insights.tables import TABLE_KEYS
from online.models import OnlineRequest, RequestMessage
from postcall.dispatch_models import Dispatch
from tests.conftest import live_server
from tests.staff.helpers import PASSWORD, context, form_token, page_login
from tests.tenants.world import (
    ADMIN_A,
    ADMIN_B,
    CASE_NUMBER_B,
    CLERK_A,
    HOST_A,
    HOST_B,
    TownA,
    TownB,
    build,
)

# Routes of the installation, not of a municipality (tenants.hosts.UNSCOPED): the platform API
# (its own role) and the providers' webhooks (signed by the provider).
INSTALLATION = ("/api/v1/platform/", "/api/v1/webhooks/")
ADMIN_RESOURCES = ("offices", "services", "schedules", "closures", "users")
# Fields a handler checks before it looks the object up: with them the lookup is what answers.
FORM_FIELDS = {"/media": {"outcome": "connected"}}
MULTIPART = ("/letters", "/videos")


@dataclass
class Staff:
    name: str
    client: httpx.AsyncClient
    bearer: str
    csrf: str


def _id_for(path: str, b: TownB, resource: str | None) -> int:
    kinds = {"offices": b.office, "services": b.service, "schedules": b.schedule,
             "closures": b.closure, "users": b.clerk, "online-services": b.online_service,
             "dispatch": b.dispatch, "jobs": b.job, "documents": b.document,
             "apply": b.online_service, "videos": b.sign_video, "sign-videos": b.sign_video}
    if resource is not None:
        return kinds[resource]
    for word, value in kinds.items():
        if f"/{word}/" in path or path.startswith(f"/{word}/"):
            return value
    raise AssertionError(f"no object of B for the id of {path}")


def fill(path: str, b: TownB) -> list[tuple[str, list[str]]]:
    """The path with B's objects filled in (one per fitting object), and the values used."""
    names = re.findall(r"{([a-z_]+)(?::[a-z]+)?}", path)
    tokens = [b.appointment_token, b.request_token] if "token" in names else [""]
    resources = ADMIN_RESOURCES if "resource" in names else (None,)
    tables = TABLE_KEYS if "table" in names else ("",)
    out: list[tuple[str, list[str]]] = []
    for token, resource, table in itertools.product(tokens, resources, tables):
        values: dict[str, str] = {}
        for name in names:
            if name == "token":
                values[name] = token
            elif name == "reference":
                values[name] = b.request if "/requests/" in path else b.appointment
            elif name == "id":
                values[name] = str(_id_for(path, b, resource))
            elif name == "resource":
                assert resource is not None
                values[name] = resource
            elif name == "table":
                values[name] = table
            elif name == "case_number":
                values[name] = CASE_NUMBER_B
            else:  # test_id, attempt: ids of nothing at all
                values[name] = "4242"
        filled = path
        for name, value in values.items():
            filled = re.sub(r"{" + name + r"(?::[a-z]+)?}", value, filled)
        out.append((filled, list(values.values())))
    return out


async def _staff(app: Starlette, email: str) -> AsyncIterator[Staff]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST_A}") as client:
        r = await page_login(client, email)
        assert r.status_code == 303, r.text
        page = await client.get("/staff")
        csrf = form_token(page.text)
        r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield Staff(email, client, r.json()["access_token"], csrf)


async def _send(staff: Staff, method: str, path: str, b: TownB) -> httpx.Response:
    """The request, with redirects followed (a page that finds nothing may send back to its
    list, a GET of a form's address to the form)."""
    headers = {"Authorization": f"Bearer {staff.bearer}"}
    if path.startswith("/api/v1/me"):
        headers["Authorization"] = f"Bearer {b.appointment_token}"
    if method in ("GET", "DELETE"):
        return await staff.client.request(method, path, headers=headers, follow_redirects=True)
    if path.startswith("/api/"):
        return await staff.client.request(method, path, headers=headers, json={})
    fields = next((f for end, f in FORM_FIELDS.items() if path.endswith(end)), {})
    # A form with a file goes as multipart (an empty file field).
    files = {"logo": ("", b"")} if path.endswith(MULTIPART) else None
    return await staff.client.request(method, path, headers=headers, follow_redirects=True,
                                      data={"csrf_token": staff.csrf, **fields}, files=files)


def _refused(response: httpx.Response, values: list[str]) -> bool:
    """403 or 404 (401 or 405 for a link token or a method the route has not); or, after a
    redirect, a page that is not about B's object (its path names none of B's values)."""
    if response.status_code in (401, 403, 404, 405):
        return True
    return bool(response.history) and not any(v in response.url.path for v in values)


def _names_objects(path: str) -> bool:
    """Whether the path takes an object (``/admin/{resource}`` alone is a list or a form, an
    insights table is a list)."""
    return bool(re.search(r"{(?!resource}|table})", path))


def _shows(response: httpx.Response, markers: list[str], skip: list[str]) -> list[str]:
    text = response.text + " ".join(v for k, v in response.headers.items() if k == "location")
    return [m for m in markers if m not in skip and m.lower() in text.lower()]


@pytest.fixture
async def towns(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> tuple[TownA, TownB]:
    # The live streams end after their first event, so a request reads them whole.
    monkeypatch.setattr(desk, "STREAM_SECONDS", 0.0)
    monkeypatch.setattr(inbox, "STREAM_SECONDS", 0.0)
    return await build(app)


def _routes(app: Starlette) -> list[tuple[str, str]]:
    found = [(route.path, method) for route in app.routes if isinstance(route, Route)
             for method in sorted(route.methods or ()) if method != "HEAD"]
    # Signing out would end the sessions the rest of the routes are tried with; it is tried last.
    last = [(p, m) for p, m in found if p.endswith("/logout")]
    return [(p, m) for p, m in found if not p.startswith(INSTALLATION)
            and (p, m) not in last] + last


async def test_staff_of_town_a_get_nothing_of_town_b_on_any_route(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    _, b = towns
    routes = _routes(app)
    assert len(routes) > 200  # every route of the product was found
    before = await _state_of_b(app, b)
    leaks: list[str] = []
    tried = 0
    for email in (ADMIN_A, CLERK_A):
        async for staff in _staff(app, email):
            for path, method in routes:
                for filled, values in fill(path, b):
                    response = await _send(staff, method, filled, b)
                    tried += 1
                    shown = _shows(response, b.markers, values)
                    if shown:
                        leaks.append(f"{email} {method} {filled}: {response.status_code} "
                                     f"shows {shown}")
                    elif _names_objects(path) and not _refused(response, values):
                        leaks.append(f"{email} {method} {filled}: {response.status_code}")
    assert tried > 400
    assert leaks == [], "\n".join(leaks)
    assert await _state_of_b(app, b) == before


async def _state_of_b(app: Starlette, b: TownB) -> tuple[object, ...]:
    """What a request of A's could have changed of B's: the appointment's status, the online
    request's status and assignment, the number of messages, B's objects' names."""
    async with context(app).db.transaction() as session:
        status = (await session.execute(select(col(Appointment.status)).where(
            col(Appointment.reference) == b.appointment))).scalar_one()
        request = (await session.execute(select(OnlineRequest))).scalars().one()
        messages = len((await session.execute(select(RequestMessage))).scalars().all())
        office = await session.get(Office, b.office)
        closure = await session.get(Closure, b.closure)
        job = await session.get(Job, b.job)
        dispatch = await session.get(Dispatch, b.dispatch)
    assert office is not None and closure is not None and job is not None
    assert dispatch is not None
    return (status, request.status, request.assigned_to_id, messages, office.name,
            closure.reason, job.status, dispatch.status)


async def test_the_same_requests_on_town_b_s_host_reach_b_s_objects(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    """The check above can fail: on B's own host, B's admin reads what A's could not."""
    _, b = towns
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST_B}") as client:
        r = await client.post("/api/v1/auth/token", json={"email": ADMIN_B, "password": PASSWORD})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for path in (f"/api/v1/admin/offices/{b.office}", f"/api/v1/admin/services/{b.service}",
                     f"/api/v1/admin/closures/{b.closure}", f"/api/v1/clerk/requests/{b.request}"):
            assert (await client.get(path, headers=auth)).status_code == 200, path
        offices = (await client.get("/api/v1/offices")).json()
        assert [o["id"] for o in offices] == [b.office]
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {b.request_token}"})
        assert me.status_code == 200 and me.json()["reference"] == b.request
        page = await client.get(f"/t/{b.appointment_token}")
        assert page.status_code == 200 and "Zwiebel" in page.text


async def test_town_b_s_links_and_objects_do_nothing_on_town_a_s_host(
    app: Starlette, client: httpx.AsyncClient, towns: tuple[TownA, TownB]
) -> None:
    a, b = towns
    before = await _state_of_b(app, b)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST_A}") as anon:
        for token in (b.appointment_token, b.request_token):
            assert (await anon.get(f"/t/{token}")).status_code == 404
            auth = {"Authorization": f"Bearer {token}"}
            assert (await anon.get("/api/v1/me", headers=auth)).status_code == 401
            assert (await anon.post("/api/v1/me/cancel", headers=auth)).status_code == 401
            assert (await anon.get("/api/v1/me/calendar.ics", headers=auth)).status_code == 401
        # Public lists and lookups show only A's.
        offices = (await anon.get("/api/v1/offices")).json()
        assert [o["id"] for o in offices] == [a.office]
        services = (await anon.get("/api/v1/services")).json()
        assert b.service not in [s["id"] for s in services]
        online = (await anon.get("/api/v1/online-services")).json()
        assert b.online_service not in [s["id"] for s in online]
        # B's answer, kept by the availability cache, is not A's.
        question = (f"/api/v1/availability?service_id={b.service}&office_id={b.office}"
                    f"&from={dt.date.today() + dt.timedelta(days=1)}"
                    f"&to={dt.date.today() + dt.timedelta(days=5)}")
        async with httpx.AsyncClient(transport=transport,
                                     base_url=f"http://{HOST_B}") as town_b:
            r = await town_b.get(question)
            assert r.status_code == 200 and r.json()["slots"], r.text
        r = await anon.get(question)
        assert r.status_code == 404, r.text
        r = await anon.post("/api/v1/appointments", json={
            "service_id": b.service, "office_id": b.office, "start": "2030-01-02T09:00:00+01:00",
            "citizen": {"given_name": "Eve", "family_name": "Evil", "email": "eve@a.example"},
            "locale": "de"})
        assert r.status_code == 404, r.text
        r = await anon.post("/api/v1/requests", json={
            "service_id": b.online_service, "office_id": b.office, "answers": {},
            "citizen": {"given_name": "Eve", "family_name": "Evil", "email": "eve@a.example"},
            "locale": "de"})
        assert r.status_code in (404, 422), r.text
        assert "Zwiebel" not in (await anon.get("/")).text
        assert "Hundesteuer-Anmeldung" not in (await anon.get("/apply")).text
    assert await _state_of_b(app, b) == before


async def test_query_parameters_name_no_office_of_town_b(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    _, b = towns
    for email in (ADMIN_A, CLERK_A):
        async for staff in _staff(app, email):
            auth = {"Authorization": f"Bearer {staff.bearer}"}
            for path in (f"/api/v1/clerk/appointments?office_id={b.office}",
                         f"/api/v1/clerk/requests?office_id={b.office}"):
                r = await staff.client.get(path, headers=auth)
                assert r.status_code in (403, 404), (email, path, r.text)
            r = await staff.client.get(f"/staff?office_id={b.office}")
            assert "Zwiebel" not in r.text


async def test_the_websocket_refuses_town_b_s_link_on_town_a_s_host(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    import websockets

    _, b = towns
    # 127.0.0.1 is not B's host: A's (the default municipality's).
    async with live_server(app) as base, websockets.connect(
            base.replace("http", "ws") + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "hello", "token": b.appointment_token}))
        answer = json.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert answer == {"type": "error", "code": 4401} or answer.get("code") == 4401
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
