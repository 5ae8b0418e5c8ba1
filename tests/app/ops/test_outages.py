"""While the database or Redis is away, every request gets a clear answer: 503 with
``Retry-After`` in the error shape (the API, in the request's language) or the "please try again
in a moment" page, one log line per outage rather than a traceback per request, and the client's
connection stays open. Rate limits carry on in the process while Redis is away.

The database is "away" the way a stopped PostgreSQL is: nothing listens on its port, so every
connection is refused. Redis is a server of the test's own, killed and started again.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.context import ctx
from app.main import create_app
from app.settings import Settings
from tests.app.api.conftest import app_ctx
from tests.booking.factories import BERLIN, world
from tests.conftest import free_port, live_server, running
from tests.services import FAULTS, OwnRedis

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

GERMAN = ("Der Dienst ist gerade kurz nicht erreichbar. "
          "Bitte versuchen Sie es in einem Moment erneut.")
ENGLISH = "The service is briefly unavailable. Please try again in a moment."


def database_away(settings_factory: Callable[..., Settings], **overrides: object) -> Starlette:
    url = f"postgresql+asyncpg://buero:secret@127.0.0.1:{free_port()}/buergerbuero"
    return create_app(settings_factory(database_url=url, rate_limits_enabled=True, **overrides))


def assert_unavailable(r: httpx.Response, message: str, retry_after: str = "5") -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == retry_after
    assert r.json() == {"error": {"code": "service_unavailable", "message": message}}


async def test_a_database_outage_answers_503_with_retry_after(
    settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    app = database_away(settings_factory)
    start = (datetime.now(BERLIN) + timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                               microsecond=0)
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url="http://testserver") as client:
        assert_unavailable(await client.get("/api/v1/offices"), GERMAN)
        assert_unavailable(await client.get("/api/v1/offices?lang=en"), ENGLISH)
        assert_unavailable(await client.get("/api/v1/services",
                                            headers={"Accept-Language": "en"}), ENGLISH)
        r = await client.post("/api/v1/appointments", json={
            "service_id": 1, "office_id": 1, "start": start.isoformat(), "locale": "de",
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": "erika@example.org"}})
        assert_unavailable(r, GERMAN)
        r = await client.post("/api/v1/auth/token",
                              json={"email": "clerk@stadt.example", "password": "whatever"})
        assert_unavailable(r, GERMAN)

        page = await client.get("/book")
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Bitte versuchen Sie es in einem Moment erneut</h1>" in page.text
        assert GERMAN in page.text and 'lang="de"' in page.text
        page = await client.get("/book?lang=en")
        assert "<h1>Please try again in a moment</h1>" in page.text and ENGLISH in page.text

        assert (await client.get("/healthz")).status_code == 200
    # Seven failures, one line: no traceback, nothing at ERROR.
    outage_lines = [r for r in caplog.records if r.name == "buergerbuero.outage"]
    assert [r.getMessage() for r in outage_lines] == [
        "database unreachable (ConnectionRefusedError) during GET /api/v1/offices; further "
        "failures are counted until it answers again"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None for r in caplog.records)


def _requests_on_one_connection(port: int, paths: list[str]) -> list[tuple[int, str | None]]:
    """Each path requested in turn over one kept-alive connection (``http.client`` never
    reconnects by itself: a connection the server dropped fails the next request)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers = []
    try:
        conn.request("GET", paths[0])
        first = conn.getresponse()
        first.read()
        answers.append((first.status, first.getheader("Retry-After")))
        sock = conn.sock
        for path in paths[1:]:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert conn.sock is sock, "a new connection was opened"
            answers.append((response.status, response.getheader("Retry-After")))
    finally:
        conn.close()
    return answers


async def test_the_connection_stays_open_through_an_outage(
    settings_factory: Callable[..., Settings],
) -> None:
    app = database_away(settings_factory, retry_after_seconds=7)
    async with live_server(app) as base:
        port = httpx.URL(base).port
        assert port is not None
        answers = await asyncio.to_thread(
            _requests_on_one_connection, port,
            ["/api/v1/offices", "/book", "/api/v1/offices", "/healthz"])
    assert answers == [(503, "7"), (503, "7"), (503, "7"), (200, None)]


@FAULTS
async def test_a_redis_outage_inside_a_request_answers_503(
    settings_factory: Callable[..., Settings], own_redis: OwnRedis,
) -> None:
    async def uses_redis(request: Request) -> Response:
        await ctx(request).extras["redis"].set("buero:probe", "1")
        return JSONResponse({"ok": True})

    app = create_app(settings_factory(redis_url=own_redis.url))
    app.router.routes.insert(0, Route("/api/v1/probe", uses_redis))
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url="http://testserver") as client:
        assert (await client.get("/api/v1/probe")).status_code == 200
        own_redis.kill()
        assert_unavailable(await client.get("/api/v1/probe?lang=en"), ENGLISH)
        own_redis.start()
        for _ in range(100):  # the client reconnects on its next command
            if (await client.get("/api/v1/probe")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert (await client.get("/api/v1/probe")).status_code == 200


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@FAULTS
async def test_booking_and_login_go_on_with_rate_limits_while_redis_is_away(
    settings_factory: Callable[..., Settings], own_redis: OwnRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings_factory(redis_url=own_redis.url, rate_limits_enabled=True,
                                      rate_limit_booking="3/minute"))
    day = (datetime.now(BERLIN) + timedelta(days=3)).date()
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url="http://testserver") as client:
        w = await world(app_ctx(app).db)

        async def book(slot: int) -> httpx.Response:
            start = datetime(day.year, day.month, day.day, 9, tzinfo=BERLIN) + timedelta(
                minutes=15 * slot)
            return await client.post("/api/v1/appointments", json={
                "service_id": w.service_id, "office_id": w.office_id, "locale": "de",
                "start": start.isoformat(),
                "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                            "email": f"erika{slot}@example.org"}})

        assert (await book(0)).status_code == 201
        own_redis.kill()
        for slot in (1, 2, 3):  # counted afresh, in this process
            assert (await book(slot)).status_code == 201
        assert (await book(4)).status_code == 429  # but still limited
        r = await client.post("/api/v1/auth/token",
                              json={"email": "nobody@stadt.example", "password": "wrong"})
        assert r.status_code == 401, r.text
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, "buero_rate_limit_fallback") == 1
        assert _metric(metrics, "buero_rate_limit_fallbacks_total") == 1
        assert _metric(metrics, "buero_rate_limit_counted_in_memory_total") >= 5

        own_redis.start()
        app_ctx(app).limiter.retry_seconds = 0  # try Redis again with the next request
        assert (await book(4)).status_code == 201  # shared counts again, and Redis is empty
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, "buero_rate_limit_fallback") == 0
        assert _metric(metrics, "buero_rate_limit_fallbacks_total") == 1
    limiter_lines = [r.getMessage() for r in caplog.records if r.name == "buergerbuero.ratelimit"]
    assert len(limiter_lines) == 2, limiter_lines
    assert limiter_lines[0].startswith("rate limits: Redis unreachable")
    assert limiter_lines[1].startswith("rate limits: Redis answers again")
    assert not [r for r in caplog.records if r.name.startswith("buergerbuero.outage")]


@pytest.mark.browser
async def test_the_try_again_page_passes_axe(
    settings_factory: Callable[..., Settings], browser: Browser,
) -> None:
    from tests.axe import axe_violations, describe

    app = database_away(settings_factory)
    context = await browser.new_context(locale="de-DE")
    try:
        page = await context.new_page()
        async with live_server(app) as base:
            for path in ("/book", "/book?lang=en"):
                response = await page.goto(base + path)
                assert response is not None and response.status == 503
                await page.wait_for_selector("#error-message")
                found = await axe_violations(page)
                assert found == [], f"{path}\n{describe(found)}"
    finally:
        await context.close()
