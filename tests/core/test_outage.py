"""Outages told apart from bugs (``core/outage.py``), with the exceptions the drivers really
raise, and logged once per burst."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from core.outage import DATABASE, REDIS, Outage, OutageLog, outage_of
from tests.conftest import free_port
from tests.services import OwnPostgres


async def _raised(awaitable: object) -> BaseException:
    try:
        await awaitable  # type: ignore[misc]
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


async def test_a_refused_database_connection_is_a_database_outage() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    try:
        async def query() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        exc = await _raised(query())
    finally:
        await engine.dispose()
    assert isinstance(exc, ConnectionRefusedError)  # bare: SQLAlchemy does not wrap it
    assert outage_of(exc) == Outage(DATABASE, "ConnectionRefusedError")


async def test_a_database_stopped_under_an_open_connection_is_an_outage(
    own_postgres: OwnPostgres,
) -> None:
    engine = create_async_engine(own_postgres.url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.to_thread(own_postgres.stop)
            exc = await _raised(conn.execute(text("SELECT 1")))
    finally:
        await engine.dispose()
    found = outage_of(exc)  # SQLAlchemy's InterfaceError: the connection is closed
    assert found is not None and found.service == DATABASE, repr(exc)


@pytest.mark.parametrize("error", [asyncpg.exceptions.CannotConnectNowError("starting up"),
                                   asyncpg.exceptions.TooManyConnectionsError("too many"),
                                   asyncpg.exceptions.AdminShutdownError("terminating")])
def test_server_states_that_mean_not_now_are_outages(error: Exception) -> None:
    wrapped = RuntimeError("while booking")
    wrapped.__cause__ = error
    assert outage_of(wrapped) == Outage(DATABASE, type(error).__name__)


def test_a_locked_sqlite_database_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    first = sqlite3.connect(path, timeout=0, isolation_level=None)
    second = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        first.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            second.execute("BEGIN IMMEDIATE")
    finally:
        first.close()
        second.close()
    assert outage_of(caught.value) == Outage(DATABASE, "OperationalError")


async def test_redis_unreachable_is_a_redis_outage() -> None:
    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        exc = await _raised(client.ping())
    finally:
        await client.aclose()
    # The reason is the innermost error that tells: the refusal under redis-py's wrapper.
    assert outage_of(exc) == Outage(REDIS, "ConnectionRefusedError")
    storage = RedisStorage(f"async+redis://127.0.0.1:{free_port()}/0", wrap_exceptions=True)
    exc = await _raised(MovingWindowRateLimiter(storage).hit(parse("1/minute"), "k"))
    found = outage_of(exc)
    assert found is not None and found.service == REDIS


async def test_bugs_and_other_failures_are_not_outages(tmp_path: Path) -> None:
    assert outage_of(ValueError("bad input")) is None
    assert outage_of(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            exc = await _raised(conn.execute(text("INSERT INTO t VALUES (1)")))
    finally:
        await engine.dispose()
    assert isinstance(exc, IntegrityError) and outage_of(exc) is None
    # A refused connection of our own (not inside a database or Redis client) names no service.
    exc = await _raised(asyncio.open_connection("127.0.0.1", free_port()))
    assert isinstance(exc, ConnectionRefusedError) and outage_of(exc) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_burst_and_one_when_it_is_over(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    outages = OutageLog(logging.getLogger("test.outage"), quiet_seconds=2.0, clock=clock)
    caplog.set_level(logging.INFO, "test.outage")
    outage = Outage(DATABASE, "ConnectionRefusedError")
    for _ in range(50):
        outages.failed(outage, "POST /api/v1/appointments")
        clock.now += 0.1
        outages.succeeded()  # another request worked meanwhile (a static file): still on
    assert [r.getMessage() for r in caplog.records] == [
        "database unreachable (ConnectionRefusedError) during POST /api/v1/appointments; "
        "further failures are counted until it answers again"]
    assert outages.ongoing == [DATABASE]
    clock.now += 2.0
    outages.succeeded()
    assert caplog.records[-1].getMessage() == "database reachable again: 50 failure(s) over 4.9 s"
    assert all(r.exc_info is None and r.levelno == logging.WARNING for r in caplog.records)
    assert outages.ongoing == []
    outages.failed(Outage(REDIS, "TimeoutError"), "GET /staff")
    assert len(caplog.records) == 3 and "redis unreachable (TimeoutError)" in caplog.text
