"""Admission control (``core/admission.py``): who waits, who goes first, who is turned away."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.middleware import LanguageMiddleware, admission_gate
from core.admission import AdmissionGate, Priority, priority_of
from core.outage import Receive, Scope, Send


def http(path: str, root_path: str = "") -> Scope:
    return {"type": "http", "path": path, "root_path": root_path, "method": "GET",
            "headers": [], "query_string": b""}


@pytest.mark.parametrize(("path", "expected"), [
    ("/", Priority.PAGE),
    ("/book", Priority.PAGE),
    ("/t/abc", Priority.PAGE),
    ("/document-status", Priority.PAGE),
    ("/apply/7", Priority.PAGE),
    ("/api/v1/availability", Priority.API),
    ("/api/v1/appointments", Priority.API),
    ("/api/v1/me/fee-notice.pdf", Priority.API),
    ("/apiary", Priority.PAGE),
    ("/staff/agenda", Priority.STAFF),
    ("/admin/offices", Priority.STAFF),
    ("/api/v1/clerk/appointments", Priority.STAFF),
    ("/api/v1/admin/schedules", Priority.STAFF),
    ("/api/v1/auth/token", Priority.STAFF),
    ("/api/v1/platform/municipalities", Priority.STAFF),
    ("/api/v1/integration/document-status", Priority.STAFF),
    ("/staffing", Priority.PAGE),
    ("/staff/agenda/events", None),
    ("/staff/requests/events", None),
    ("/healthz", None),
    ("/metrics", None),
    ("/static/css/app.css", None),
])
def test_requests_are_classed_by_path(path: str, expected: Priority | None) -> None:
    assert priority_of(http(path)) is expected


def test_uploads_pass_whatever_their_path() -> None:
    upload = {**http("/apply/7"), "method": "POST",
              "headers": [(b"content-type", b"multipart/form-data; boundary=x")]}
    form = {**http("/book"), "method": "POST",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
    assert priority_of(upload) is None
    assert priority_of({**upload, "path": "/api/v1/me/documents"}) is None
    assert priority_of(form) is Priority.PAGE


def test_a_path_prefix_is_looked_through_and_sockets_pass() -> None:
    assert priority_of(http("/zwiebel/api/v1/availability", "/zwiebel")) is Priority.API
    assert priority_of(http("/zwiebel/staff/agenda", "/zwiebel")) is Priority.STAFF
    assert priority_of({"type": "websocket", "path": "/ws/call"}) is None
    assert priority_of({"type": "lifespan"}) is None


class Held:
    """An app whose requests run until the test lets each one go, in the order they started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"]
        self.started.append(name)
        gate = self.gates.setdefault(name, asyncio.Event())
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})

    def let_go(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _refuse(scope: Scope, receive: Receive) -> Any:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"busy"})
    return answer


class Client:
    def __init__(self, gate: AdmissionGate) -> None:
        self.gate = gate
        self.statuses: dict[str, int] = {}

    def request(self, path: str) -> asyncio.Task[None]:
        async def run() -> None:
            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    self.statuses[path] = message["status"]
            await self.gate(http(path), _receive, send)
        return asyncio.create_task(run())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_freed_place_goes_to_staff_then_pages_then_the_api() -> None:
    app = Held()
    gate = AdmissionGate(app, max_active=1, max_waiting=10, refuse=_refuse)
    client = Client(gate)
    tasks = [client.request("/api/v1/availability")]
    await settle()
    assert app.started == ["/api/v1/availability"] and gate.active == 1
    for path in ("/api/v1/appointments", "/book", "/staff/agenda", "/t/abc"):
        tasks.append(client.request(path))
    await settle()
    assert app.started == ["/api/v1/availability"]  # one at a time
    assert gate.waiting() == 4

    for running, then in (("/api/v1/availability", "/staff/agenda"),
                          ("/staff/agenda", "/book"), ("/book", "/t/abc"),
                          ("/t/abc", "/api/v1/appointments")):
        app.let_go(running)
        await settle()
        assert app.started[-1] == then
        assert gate.active == 1
    app.let_go("/api/v1/appointments")
    await asyncio.gather(*tasks)
    assert gate.active == 0 and gate.waiting() == 0
    assert set(client.statuses.values()) == {200}


async def one_running(max_waiting: int = 10) -> tuple[Held, AdmissionGate, Client,
                                                     asyncio.Task[None]]:
    """A gate of one place, taken by a page that runs until let go."""
    app = Held()
    gate = AdmissionGate(app, max_active=1, max_waiting=max_waiting, refuse=_refuse)
    client = Client(gate)
    first = client.request("/book")
    await settle()
    return app, gate, client, first


async def test_streams_and_health_checks_never_wait() -> None:
    app, gate, client, busy = await one_running()
    stream = client.request("/staff/agenda/events")
    health = client.request("/healthz")
    await settle()
    assert app.started == ["/book", "/staff/agenda/events", "/healthz"]
    for name in ("/book", "/staff/agenda/events", "/healthz"):
        app.let_go(name)
    await asyncio.gather(busy, stream, health)
    assert gate.active == 0


async def test_the_api_queue_is_cut_but_pages_always_wait() -> None:
    app, gate, client, first = await one_running(max_waiting=2)
    waiting = [client.request(f"/api/v1/a{n}") for n in range(2)]
    await settle()
    turned_away = client.request("/api/v1/a2")
    pages = [client.request(f"/p{n}") for n in range(5)]
    await turned_away
    assert client.statuses["/api/v1/a2"] == 503 and gate.refused == 1
    assert "/api/v1/a2" not in app.started
    assert gate.waiting(Priority.PAGE) == 5 and gate.waiting(Priority.API) == 2
    for name in ["/book", *(f"/p{n}" for n in range(5)), "/api/v1/a0", "/api/v1/a1"]:
        app.let_go(name)
    await asyncio.gather(first, *waiting, *pages)
    assert app.started == ["/book", *(f"/p{n}" for n in range(5)), "/api/v1/a0", "/api/v1/a1"]
    assert all(client.statuses[f"/p{n}"] == 200 for n in range(5))


async def test_a_waiter_that_goes_away_loses_its_turn_and_keeps_no_place() -> None:
    app, gate, client, first = await one_running()
    gone = client.request("/api/v1/gone")
    later = client.request("/api/v1/later")
    await settle()
    gone.cancel()
    await settle()
    assert gate.waiting() == 1
    app.let_go("/book")
    app.let_go("/api/v1/later")
    await asyncio.gather(first, later)
    assert "/api/v1/gone" not in app.started
    assert gate.active == 0 and gate.waiting() == 0


async def test_no_limit_when_turned_off() -> None:
    app = Held()
    gate = AdmissionGate(app, max_active=0, max_waiting=0, refuse=_refuse)
    client = Client(gate)
    tasks = [client.request(f"/api/v1/n{n}") for n in range(20)]
    await settle()
    assert len(app.started) == 20 and gate.active == 0
    for n in range(20):
        app.let_go(f"/api/v1/n{n}")
    await asyncio.gather(*tasks)


async def test_the_refusal_is_a_503_in_the_citizen_s_language_with_retry_after(
        app: Starlette) -> None:
    held = Held()
    gate = LanguageMiddleware(admission_gate(held, max_active=1, max_waiting=0, retry_after=1))

    async def in_app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it for its middleware
        await gate(scope, receive, send)

    first = asyncio.create_task(in_app(http("/book"), _receive, _ignore))
    await settle()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=in_app),
                                 base_url="http://test") as client:
        answer = await client.get("/api/v1/availability", headers={"Accept-Language": "de"})
        english = await client.get("/api/v1/availability", headers={"Accept-Language": "en"})
    assert answer.status_code == english.status_code == 503
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["error"]["code"] == "busy"
    assert "sehr viele Anfragen" in body["error"]["message"]
    assert "Very many requests" in english.json()["error"]["message"]
    held.let_go("/book")
    await first


async def _ignore(message: MutableMapping[str, Any]) -> None:
    return None
