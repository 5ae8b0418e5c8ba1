"""Shared fixtures: an isolated database per test (SQLite and Postgres), the app, clients, a
live uvicorn server on loopback.

Postgres tests need ``BUERO_TEST_POSTGRES_URL``; Redis tests ``BUERO_TEST_REDIS_URL``. With
``CI=true`` a missing service fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.all_models import metadata
from app.main import create_app
from app.settings import Settings
from core.types import Clock

pytest_plugins = ["tests.smtp_support", "tests.chromium", "tests.services"]

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("BUERO_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("BUERO_TEST_REDIS_URL")
BERLIN = ZoneInfo("Europe/Berlin")


# pytest-xdist runs the tests with this mark in one worker, one after another: their apps share
# the real Redis, whose pub/sub channels (availability announcements) no key prefix or database
# number separates, so one test's writes would drop another one's kept answers.
SHARED_REDIS = pytest.mark.xdist_group("shared-redis")
# For checks of rendered pages only (axe-core): the database behind a page does not change its
# markup, and every page's behaviour runs on both backends in the functional tests.
RENDERED_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    """Python's cyclic garbage collector, less often. A test process keeps every test's
    engine dialect and compiled statements alive in SQLAlchemy's per-mapper caches (bounded,
    but hundreds of thousands of objects), and each full collection walks all of them: with
    the default thresholds the collector took a fifth of a test process's CPU time."""
    gc.set_threshold(10_000, 20, 100)


@pytest.hookimpl(trylast=True)  # after other plugins' reordering, kept within each part
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (``browser``, ``slow``) first: pytest-xdist hands the tests out in this
    order, so the workers end together on short tests instead of one waiting for the last
    browser sweep another began late."""
    items.sort(key=lambda item: not (item.get_closest_marker("browser")
                                      or item.get_closest_marker("slow")))


def require(condition: bool, what: str) -> None:
    """Skip when a tool or service is missing; under CI fail instead."""
    if condition:
        return
    if CI:
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} not available")


# --- databases -------------------------------------------------------------------------------


@pytest.fixture
def office_hours() -> Iterator[datetime]:
    """Puts the services' clock (``core.types.utcnow``) at 11:00 today, Berlin time, running on
    from there: tests that create appointments "in five minutes" and read today's agenda must
    not depend on whether they run at midnight. Returns that moment (aware, UTC)."""
    real = datetime.now(UTC)
    local = real.astimezone(BERLIN)
    target = local.replace(hour=11, minute=0, second=0, microsecond=0)
    Clock.shift(target - local)
    try:
        yield target.astimezone(UTC)
    finally:
        Clock.shift(timedelta(0))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path



@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A Postgres database with the schema, copied per test (``CREATE DATABASE ... TEMPLATE``).
    One per test process (pytest-xdist worker): the process id keeps the names apart."""
    require(PG_URL is not None, "BUERO_TEST_POSTGRES_URL")
    assert PG_URL is not None
    name = f"buero_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    asyncio.run(_pg_create_schema(str(make_url(PG_URL).set(database=name))))
    yield name
    asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PgCopies:
    """Fresh copies of the template, made ahead of the tests that take them and dropped after
    them, in threads of their own; each test still gets a database no other test has touched.

    A ``DROP DATABASE`` forces a checkpoint: a second or more when other suites share the
    server, longer than most tests take. Drops run several at a time (drops waiting together
    are served by one checkpoint) and apart from the copies, which take a fraction of a second.
    With too many drops waiting, a test's teardown waits for the oldest: a slow server slows
    the tests down rather than filling its disk."""

    AHEAD = 2  # copies being made or ready before a test asks
    DROP_THREADS = 4
    MAX_DROPS_WAITING = 16

    def __init__(self, admin_url: str, template: str) -> None:
        self._admin_url = admin_url
        self._template = template
        self._creating = ThreadPoolExecutor(max_workers=self.AHEAD, thread_name_prefix="pg-copy")
        self._dropping = ThreadPoolExecutor(max_workers=self.DROP_THREADS,
                                            thread_name_prefix="pg-drop")
        self._ahead: deque[Future[str]] = deque(
            self._creating.submit(self._create) for _ in range(self.AHEAD))
        self._drops: deque[Future[None]] = deque()

    def _create(self) -> str:
        name = f"buero_t_{uuid.uuid4().hex[:12]}"
        # A test's commits need not wait for the disk: nothing of a test database has to
        # survive a crash of the server (its own setting; the server's other databases keep
        # theirs).
        asyncio.run(_pg_admin(self._admin_url,
                              f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"',
                              f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
        return name

    def _drop(self, name: str) -> None:
        asyncio.run(_pg_admin(self._admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def take(self) -> str:
        self._ahead.append(self._creating.submit(self._create))
        return self._ahead.popleft().result()

    def drop(self, name: str) -> None:
        self._drops.append(self._dropping.submit(self._drop, name))
        # Finished drops are let go (a failed one fails here); too many waiting: wait.
        while self._drops and (self._drops[0].done()
                               or len(self._drops) > self.MAX_DROPS_WAITING):
            self._drops.popleft().result()

    def close(self) -> None:
        """Drop the copies nobody took and wait for every drop; a failed one fails here."""
        for future in self._ahead:
            if not future.cancel():
                self.drop(future.result())
        self._creating.shutdown(wait=True)
        self._dropping.shutdown(wait=True)
        for dropped in self._drops:
            dropped.result()


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    assert PG_URL is not None
    copies = PgCopies(PG_URL, pg_template)
    try:
        yield copies
    finally:
        copies.close()  # before the template goes (the fixtures end in reverse order)


async def _pg_admin(url: str, *statements: str) -> None:
    """Each statement on its own (``CREATE DATABASE`` may not run in a transaction block)."""
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password,
        database=u.database or "postgres",
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _pg_create_schema(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the schema, for one test; parametrised over both backends."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    copies: PgCopies = request.getfixturevalue("pg_copies")
    assert PG_URL is not None
    name = copies.take()
    yield str(make_url(PG_URL).set(database=name))
    copies.drop(name)  # WITH (FORCE): connections a test left open do not keep it


@pytest.fixture
def settings_factory(db_url: str, tmp_path: Path) -> Callable[..., Settings]:
    prefix = uuid.uuid4().hex[:16]

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": db_url,
            "secret_key": "test-secret-key-0123456789",
            "base_url": "http://testserver",
            "var_dir": tmp_path / "var",
            "rate_limits_enabled": False,
            # Like the rate limits: tests of the proof of work (tests/app/api/test_proof_of_work.py)
            # switch it on.
            "proof_of_work": False,
            # Every peer of a test is on loopback; tests of the screening switch it off.
            "connection_test_private_candidates": True,
            # The product asks admins for a second factor (BUERO_STAFF_TOTP_REQUIRED=admin);
            # tests of other features sign admins in with the password alone. The second
            # factor's own tests (tests/staff/test_totp*.py) set the policy they test.
            "staff_totp_required": "none",
            # Each test's apps have Redis keys and channels of their own: tests running at the
            # same time on the shared Redis neither hear nor drop each other's state.
            "redis_prefix": f"buero-test:{prefix}:",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    """Run the app's lifespan (startup and shutdown) around a block."""
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with running(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def threads_ended(before: set[threading.Thread], timeout: float = 10.0) -> None:
    """Wait for the plain threads started since ``before`` to end (named ``Thread-N``, as
    aiosqlite's are; not the workers of thread pools, which live on). aiosqlite's thread of a
    connection that failed reports to the loop as it ends; after this and one turn of the loop
    the report has reached this test's loop, not a closed one, and nothing waited a fixed time
    for it."""
    for thread in set(threading.enumerate()) - before:
        if thread.name.startswith("Thread-"):
            thread.join(timeout)


# --- live server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port, for uvicorn to serve on. Bound here, not
    just chosen: a test in another worker cannot take the port before the server starts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve_on(application: Starlette, sock: socket.socket,
                   **config: Any) -> AsyncIterator[str]:
    """Serve ``application`` with a real uvicorn on a socket bound in advance (the app's
    ``base_url`` can name it before the server starts, and a test may bind it in a network
    namespace of its own); yields its base URL."""
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(
        uvicorn.Config(application, host=host, port=port, log_level="warning",
                       lifespan="on", **config)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()


@asynccontextmanager
async def live_server(application: Starlette, **config: Any) -> AsyncIterator[str]:
    """Serve ``application`` with a real uvicorn on loopback; yields its base URL."""
    async with serve_on(application, bound_socket(), **config) as url:
        yield url
