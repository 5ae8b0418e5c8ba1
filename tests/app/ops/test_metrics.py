"""``/metrics``: bookings by outcome, rate-limit hits, job queue depth, call events — read back
from the Prometheus text the endpoint serves, per app (no registry shared between apps)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.settings import Settings
from core.jobs import Job, JobStatus, enqueue
from monitoring.metrics import Metrics, metrics_of
from postcall.payments.models import ProcessedWebhookEvent
from tests.app.api.conftest import DAY
from tests.app.pages.helpers import book_via_pages
from tests.app.pages.seed import seed
from tests.booking.factories import BERLIN, World, world
from tests.conftest import running, threads_ended


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def body(w: World, hour: int) -> dict[str, object]:
    start = datetime.combine(DAY, time(hour, 0), tzinfo=BERLIN).isoformat()
    return {"service_id": w.service_id, "office_id": w.office_id, "start": start,
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": f"erika{hour}@example.com"}, "locale": "de"}


async def test_bookings_by_outcome_and_rate_limit_hits(
    settings_factory: Callable[..., Settings], db: Database
) -> None:
    w = await world(db)
    app = create_app(settings_factory(rate_limits_enabled=True, rate_limit_booking="3/minute"))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            before = await scrape(c)
            assert value(before, "buero_bookings_total", outcome="created") == 0
            assert (await c.post("/api/v1/appointments", json=body(w, 9))).status_code == 201
            # The same slot again by someone else (capacity 1): 409.
            taken = body(w, 9)
            taken["citizen"] = {"given_name": "Max", "family_name": "Muster",
                                "email": "max@example.com"}
            assert (await c.post("/api/v1/appointments", json=taken)).status_code == 409
            r = await c.post("/api/v1/appointments", content=b"{not json",
                             headers={"content-type": "application/json"})
            assert r.status_code == 400
            # The fourth request within the minute is over the limit.
            assert (await c.post("/api/v1/appointments", json=body(w, 10))).status_code == 429
            text = await scrape(c)
    assert value(text, "buero_bookings_total", outcome="created") == 1
    assert value(text, "buero_bookings_total", outcome="slot_taken") == 1
    assert value(text, "buero_bookings_total", outcome="invalid") == 1
    assert value(text, "buero_bookings_total", outcome="rate_limited") == 1
    assert value(text, "buero_rate_limit_hits_total", rule="booking") == 1
    # The booking is in the database gauges as well, and its confirmation mail is queued.
    assert value(text, "buero_appointments", status="reserved") == 1
    assert value(text, "buero_municipality_appointments", municipality="1",
                 status="reserved") == 1
    assert value(text, "buero_job_queue_depth") >= 1


async def test_job_queue_depth_and_failed_jobs(client: httpx.AsyncClient, app: Starlette) -> None:
    state = app.state.ctx
    async with state.db.transaction(write=True) as session:
        for n in range(3):
            enqueue(session, "test.kind", {"n": n})
        session.add(Job(kind="test.kind", status=JobStatus.failed, attempts=12))
        session.add(Job(kind="test.kind", status=JobStatus.done, attempts=1))
        session.add(ProcessedWebhookEvent(provider="stripe", event_id="evt_1",
                                          event_type="checkout.session.completed",
                                          outcome="paid"))
    text = await scrape(client)
    assert value(text, "buero_job_queue_depth") == 3
    assert value(text, "buero_jobs", status="pending") == 3
    assert value(text, "buero_jobs", status="failed") == 1
    assert value(text, "buero_jobs", status="running") == 0
    assert value(text, "buero_payment_events", event_type="checkout.session.completed",
                 outcome="paid") == 1

    async with state.db.transaction(write=True) as session:
        enqueue(session, "test.kind", {"n": 4})
    assert value(await scrape(client), "buero_job_queue_depth") == 4


async def test_call_events_waiting_connected_failed(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    metrics = metrics_of(app.state.ctx)
    metrics.call_event("A-1", "joined", "citizen")
    metrics.call_event("B-2", "joined", "citizen")
    assert value(await scrape(client), "buero_calls_waiting") == 2
    metrics.call_event("A-1", "joined", "clerk")
    metrics.call_event("A-1", "admitted", "clerk")
    metrics.call_event("A-1", "connected", "clerk")
    metrics.call_event("B-2", "left", "citizen")  # gave up waiting
    text = await scrape(client)
    assert value(text, "buero_calls_waiting") == 0
    assert value(text, "buero_calls_connected_total") == 1
    assert value(text, "buero_calls_failed_total") == 1
    assert value(text, "buero_call_setup_seconds_count") == 1
    assert value(text, "buero_call_events_total", event="joined", role="citizen") == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_each_app_has_its_own_registry(
    settings_factory: Callable[..., Settings],
) -> None:
    first, second = create_app(settings_factory()), create_app(settings_factory())
    async with running(first), running(second):
        one, two = metrics_of(first.state.ctx), metrics_of(second.state.ctx)
        assert isinstance(one, Metrics) and one.registry is not two.registry
        assert first.state.ctx.extras["metrics_registry"] is one.registry
        one.holds_expired.inc(2)
        assert two.registry.get_sample_value("buero_holds_expired_total") == 0
        assert one.registry.get_sample_value("buero_holds_expired_total") == 2


async def test_scrape_answers_while_the_database_is_down(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await app.state.ctx.db.dispose()
    before = set(threading.enumerate())
    app.state.ctx.db = Database("sqlite+aiosqlite:////nonexistent-dir/x/none.db")
    text = await scrape(client)
    assert value(text, "buero_metrics_scrape_errors_total") == 1
    # aiosqlite's worker thread of the failed connection reports back to the loop a moment
    # later; let it do so while this test's loop still runs, not into the next test's.
    await app.state.ctx.db.dispose()
    threads_ended(before)
    await asyncio.sleep(0)


async def test_a_booking_through_the_pages_counts_too(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    seeded = await seed(app)
    await book_via_pages(client, seeded)
    assert value(await scrape(client), "buero_bookings_total", outcome="created") == 1
