"""``GET /api/v1/availability`` served from memory: kept answers are the fresh answers, every write
that changes availability drops them at once, a write the instance cannot see is bounded by
``BUERO_AVAILABILITY_CACHE_SECONDS``, and the database still decides every booking."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time as wall_clock
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel import col
from starlette.applications import Starlette
from starlette.responses import JSONResponse

from app.api.availability import cache_of
from app.api.schemas import availability_out
from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.availability_cache import AvailabilityCache
from booking.availability_window import window_availability
from booking.models import Appointment, Closure, SlotSeat
from tests.app.admin.conftest import admin_headers as admin_headers
from tests.app.admin.conftest import quick_hashes as quick_hashes
from tests.app.api.conftest import DAY, app_ctx, token_of
from tests.booking.factories import BERLIN, World, add_schedule, local
from tests.conftest import REDIS_URL, SHARED_REDIS, free_port, require, running

ROOT = Path(__file__).resolve().parents[3]
WINDOW = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}


def iso(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).isoformat()


def query(w: World, **extra: str) -> dict[str, Any]:
    return {"service_id": w.service_id, "office_id": w.office_id, **WINDOW, **extra}


def cache(app: Starlette) -> AvailabilityCache:
    return cache_of(app_ctx(app))


async def starts(client: httpx.AsyncClient, w: World) -> list[str]:
    r = await client.get("/api/v1/availability", params=query(w))
    assert r.status_code == 200, r.text
    return [s["start"] for s in r.json()["slots"]]


async def kept_starts(client: httpx.AsyncClient, app: Starlette, w: World) -> list[str]:
    """The answer, which must come from memory (a second read of the same query)."""
    hits = cache(app).hits
    found = await starts(client, w)
    assert cache(app).hits == hits + 1, "the answer was computed, not kept"
    return found


async def book(client: httpx.AsyncClient, w: World, start: str,
               email: str = "erika@example.com") -> httpx.Response:
    return await client.post("/api/v1/appointments", json={
        "service_id": w.service_id, "office_id": w.office_id, "start": start, "locale": "de",
        "citizen": {"given_name": "Erika", "family_name": "Mustermann", "email": email}})


async def take_unseen(db: Database, w: World, start: datetime) -> None:
    """Book ``start`` the way another instance without Redis would: this process's sessions never
    see the write (a bare connection, no ORM session)."""
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        result = await conn.execute(insert(Appointment).values(
            reference="BB-UNSEEN1", office_id=w.office_id, service_id=w.service_id,
            schedule_id=w.schedule.id, start_at=start, end_at=start + timedelta(minutes=15),
            status="confirmed", given_name="A", family_name="B", email="unseen@example.com",
            email_norm="unseen@example.com", locale="de", link_nonce="unseen-nonce",
            token_hash="unseen-hash", link_expires_at=start + timedelta(days=30),
            ics_uid="unseen@buero", ics_sequence=0, created_at=now, updated_at=now,
        ).returning(col(Appointment.id)))
        await conn.execute(insert(SlotSeat).values(
            schedule_id=w.schedule.id, unit_start=start, seat=0, capacity=1,
            appointment_id=result.scalar_one(),
        ))


async def close_unseen(db: Database, w: World, day: date) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(Closure), [{"office_id": w.office_id, "date": day,
                                              "reason": "unseen"}])


@pytest.fixture
def app_factory(settings_factory: Callable[..., Settings]) -> Callable[..., Starlette]:
    return lambda **overrides: create_app(settings_factory(**overrides))


@pytest.fixture
async def kept_app(app_factory: Callable[..., Starlette]) -> AsyncIterator[Starlette]:
    """An app whose answers, left alone, stay in memory for the whole test."""
    application = app_factory(availability_cache_seconds=600)
    async with running(application):
        yield application


@pytest.fixture
async def kept_client(kept_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kept_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- writes through the app drop kept answers at once -------------------------------------------


async def test_booking_and_cancelling_change_the_next_read(
    kept_client: httpx.AsyncClient, kept_app: Starlette, db: Database, seeded: World
) -> None:
    first = await starts(kept_client, seeded)
    assert first[0] == iso(DAY, 9)
    assert await kept_starts(kept_client, kept_app, seeded) == first

    r = await book(kept_client, seeded, iso(DAY, 9))
    assert r.status_code == 201, r.text
    after_booking = await starts(kept_client, seeded)
    assert iso(DAY, 9) not in after_booking
    assert after_booking == first[1:]
    assert await kept_starts(kept_client, kept_app, seeded) == after_booking

    token = await token_of(kept_app, db, r.json()["reference"])
    r = await kept_client.post("/api/v1/me/cancel", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert await starts(kept_client, seeded) == first


async def test_reschedule_moves_the_free_slot(
    kept_client: httpx.AsyncClient, kept_app: Starlette, db: Database, seeded: World
) -> None:
    r = await book(kept_client, seeded, iso(DAY, 9))
    token = await token_of(kept_app, db, r.json()["reference"])
    before = await starts(kept_client, seeded)
    assert await kept_starts(kept_client, kept_app, seeded) == before
    r = await kept_client.post("/api/v1/me/reschedule", json={"start": iso(DAY, 10)},
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    after = await starts(kept_client, seeded)
    assert iso(DAY, 9) in after and iso(DAY, 10) not in after


async def test_admin_closure_and_schedule_changes_drop_kept_answers(
    kept_client: httpx.AsyncClient, kept_app: Starlette, seeded: World,
    admin_headers: dict[str, str],
) -> None:
    # The admin fixture's helpers use the ``app`` fixture's database, which is this one too.
    first = await starts(kept_client, seeded)
    assert await kept_starts(kept_client, kept_app, seeded) == first
    assert any(s.startswith(DAY.isoformat()) for s in first)

    r = await kept_client.post("/api/v1/admin/closures", headers=admin_headers,
                               json={"office_id": seeded.office_id, "date": DAY.isoformat()})
    assert r.status_code == 201, r.text
    closed = await starts(kept_client, seeded)
    assert closed == [s for s in first if not s.startswith(DAY.isoformat())]
    assert await kept_starts(kept_client, kept_app, seeded) == closed

    r = await kept_client.patch(f"/api/v1/admin/schedules/{seeded.schedule.id}",
                                headers=admin_headers, json={"end_time": "10:00"})
    assert r.status_code == 200, r.text
    shorter = await starts(kept_client, seeded)
    assert shorter == [s for s in closed if s < iso(DAY + timedelta(days=1), 10)]
    assert len(shorter) == 4


async def test_a_write_of_another_database_object_in_this_process_counts_too(
    kept_client: httpx.AsyncClient, kept_app: Starlette, db: Database, seeded: World
) -> None:
    # ``db`` is a second engine on the same database (as the worker or a script would use).
    first = await starts(kept_client, seeded)
    await add_schedule(db, seeded.office, [seeded.service], start=time(14), end=time(15))
    more = await starts(kept_client, seeded)
    assert len(more) == len(first) + 8


# --- what the instance cannot see, and the database's word ------------------------------------


async def test_kept_answer_is_bounded_by_its_age(
    app_factory: Callable[..., Starlette], db: Database, seeded: World
) -> None:
    app = app_factory(availability_cache_seconds=3)
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        # The cache's clock stands still unless the test moves it: nothing waits for the wall
        # clock.
        clock = [wall_clock.time()]
        cache(app).clock = lambda: clock[0]
        first = await starts(client, seeded)
        await close_unseen(db, seeded, DAY)
        assert await kept_starts(client, app, seeded) == first  # not seen here: still kept
        clock[0] += 2.0  # before the refresh ahead of the age bound (0.8 × 3 s) starts
        assert await kept_starts(client, app, seeded) == first
        clock[0] += 1.2
        assert await starts(client, seeded) == [s for s in first
                                                if not s.startswith(DAY.isoformat())]


async def test_booking_a_slot_a_stale_answer_shows_is_refused_by_the_database(
    kept_client: httpx.AsyncClient, kept_app: Starlette, db: Database, seeded: World
) -> None:
    first = await starts(kept_client, seeded)
    assert first[0] == iso(DAY, 9)
    await take_unseen(db, seeded, local(DAY, 9))
    assert (await kept_starts(kept_client, kept_app, seeded))[0] == iso(DAY, 9)  # stale
    r = await book(kept_client, seeded, iso(DAY, 9))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "slot_taken"
    assert iso(DAY, 9) not in await starts(kept_client, seeded)


async def test_cache_off_computes_every_time(
    app_factory: Callable[..., Starlette], db: Database, seeded: World
) -> None:
    app = app_factory(availability_cache_seconds=0)
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        first = await starts(client, seeded)
        await close_unseen(db, seeded, DAY)
        assert await starts(client, seeded) == [s for s in first
                                                if not s.startswith(DAY.isoformat())]
        assert len(cache(app)) == 0 and cache(app).hits == 0


# --- the same bytes, validators -----------------------------------------------------------------


async def test_kept_answer_is_the_fresh_answer_byte_for_byte(
    kept_client: httpx.AsyncClient, kept_app: Starlette, db: Database, seeded: World
) -> None:
    await add_schedule(db, seeded.office, [seeded.service], start=time(10), end=time(13),
                       capacity=2)
    # 10:00 has three seats (one of the first schedule, two of the second); 10:15 has one left.
    for email in ("a@example.com", "b@example.com", "c@example.com", "d@example.com"):
        start = iso(DAY, 10) if email != "d@example.com" else iso(DAY, 10, 15)
        assert (await book(kept_client, seeded, start, email=email)).status_code == 201
    params = query(seeded, to=(DAY + timedelta(days=20)).isoformat())
    computed = await kept_client.get("/api/v1/availability", params=params)
    kept = await kept_client.get("/api/v1/availability", params=params)
    assert computed.status_code == kept.status_code == 200
    assert kept.content == computed.content
    assert kept.headers["etag"] == computed.headers["etag"]
    # And the very bytes of the plain JSON rendering of the same slots.
    async with db.transaction() as session:
        window = await window_availability(
            session, service_id=seeded.service_id, office_id=seeded.office_id,
            start=DAY, end=DAY + timedelta(days=20))
        plain = JSONResponse(availability_out(window.office, window.slots)).body
    assert kept.content == plain
    offered = [s["start"] for s in kept.json()["slots"]]
    assert iso(DAY, 10) not in offered
    assert iso(DAY, 9) in offered and iso(DAY, 10, 15) in offered and iso(DAY, 12, 45) in offered


async def test_etag_and_not_modified(
    kept_client: httpx.AsyncClient, seeded: World
) -> None:
    r = await kept_client.get("/api/v1/availability", params=query(seeded))
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-content-type-options"] == "nosniff"  # the security headers stay
    again = await kept_client.get("/api/v1/availability", params=query(seeded),
                                  headers={"If-None-Match": f'"other", W/{etag}'})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert (await book(kept_client, seeded, iso(DAY, 9))).status_code == 201
    changed = await kept_client.get("/api/v1/availability", params=query(seeded),
                                    headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    # Errors are not kept and keep their no-store.
    bad = await kept_client.get("/api/v1/availability", params=query(seeded, office_id="999"))
    assert bad.status_code == 404 and bad.headers["cache-control"] == "no-store"


# --- several instances ---------------------------------------------------------------------------


@SHARED_REDIS
@pytest.mark.redis
async def test_a_booking_on_one_instance_drops_the_answer_on_another(
    settings_factory: Callable[..., Settings], db_url: str, db: Database, seeded: World,
    tmp_path: Path,
) -> None:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    # Instance B: its own process, so only Redis can tell it about A's commits.
    port = free_port()
    settings_a = settings_factory(redis_url=REDIS_URL, availability_cache_seconds=600)
    app_a = create_app(settings_a)
    env = {**os.environ, "BUERO_DATABASE_URL": db_url, "BUERO_REDIS_URL": REDIS_URL,
           "BUERO_REDIS_PREFIX": settings_a.redis_prefix,  # one installation: A and B
           "BUERO_SECRET_KEY": "test-secret-key-0123456789", "BUERO_ENV": "test",
           "BUERO_VAR_DIR": str(tmp_path / "var-b"), "BUERO_RATE_LIMITS_ENABLED": "false",
           "BUERO_AVAILABILITY_CACHE_SECONDS": "600", "BUERO_LOG_LEVEL": "WARNING"}
    instance_b = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        async with running(app_a), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app_a), base_url="http://testserver"
        ) as a, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as b:
            async with asyncio.timeout(60):
                while True:
                    assert instance_b.poll() is None, "instance B exited"
                    try:
                        if (await b.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            first = await starts(b, seeded)
            assert first[0] == iso(DAY, 9)
            # B keeps its answer: a closure nobody announces does not show there.
            tomorrow = (DAY + timedelta(days=1)).isoformat()
            await close_unseen(db, seeded, DAY + timedelta(days=1))
            assert await starts(b, seeded) == first
            # A's booking is announced; B's next reads are fresh (closure included).
            assert (await book(a, seeded, iso(DAY, 9))).status_code == 201
            async with asyncio.timeout(10):
                while (await starts(b, seeded))[0] == iso(DAY, 9):
                    await asyncio.sleep(0.05)
            assert await starts(b, seeded) == [s for s in first[1:]
                                               if not s.startswith(tomorrow)]
    finally:
        instance_b.terminate()
        try:
            instance_b.wait(timeout=20)
        except subprocess.TimeoutExpired:
            instance_b.kill()
            instance_b.wait()
