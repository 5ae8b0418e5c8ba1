"""``/readyz`` answers 503 when the database or (when configured) Redis cannot be reached, and
200 again once it can; ``/healthz`` stays 200 throughout (the process is up).

The app refuses to start when Redis is unreachable (app/calls.py), so the Redis case starts with
Redis reachable through a small TCP relay and then closes the relay: the realistic failure of a
running instance. The relay listens on the same port again to show the recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.conftest import SHARED_REDIS, free_port, require, running, threads_ended

REDIS_URL = os.environ.get("BUERO_TEST_REDIS_URL")


@contextlib.asynccontextmanager
async def client_for(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def readiness(c: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    r = await c.get("/readyz")
    body = r.json()
    assert body["status"] == ("ok" if r.status_code == 200 else "unavailable")
    assert r.headers["content-type"].startswith("application/json")
    checks: dict[str, str] = body["checks"]
    return r.status_code, checks


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    assert await readiness(client) == (200, {"database": "ok"})
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_not_ready_when_the_sqlite_file_cannot_be_opened(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    missing = tmp_path / "removed-directory" / "buergerbuero.db"
    before = set(threading.enumerate())
    app = create_app(settings_factory(database_url=f"sqlite+aiosqlite:///{missing}"))
    async with client_for(app) as c:
        assert await readiness(c) == (503, {"database": "unavailable"})
        assert (await c.get("/healthz")).status_code == 200
    # aiosqlite's worker thread of the failed connection reports back to the loop a moment
    # later; let it do so while this test's loop still runs, not into the next test's.
    threads_ended(before)
    await asyncio.sleep(0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_not_ready_when_postgres_is_unreachable(
    settings_factory: Callable[..., Settings]
) -> None:
    # Nothing listens on this port: the connection is refused at once.
    url = f"postgresql+asyncpg://buero:secret@127.0.0.1:{free_port()}/buergerbuero"
    app = create_app(settings_factory(database_url=url))
    async with client_for(app) as c:
        status, checks = await readiness(c)
        assert status == 503 and checks == {"database": "unavailable"}
        text = (await c.get("/readyz")).text
        assert "secret" not in text  # the URL's password is never echoed


class Relay:
    """A TCP relay to a real server; ``close`` drops the listener and every connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()


@SHARED_REDIS
@pytest.mark.redis
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_not_ready_while_redis_is_unreachable(
    settings_factory: Callable[..., Settings]
) -> None:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    real = make_url(REDIS_URL.replace("redis://", "http://", 1))
    relay = Relay(real.host or "127.0.0.1", real.port or 6379)
    await relay.open()
    database = (real.database or "0").lstrip("/") or "0"
    app = create_app(settings_factory(redis_url=f"redis://127.0.0.1:{relay.port}/{database}"))
    try:
        async with client_for(app) as c:
            assert await readiness(c) == (200, {"database": "ok", "redis": "ok"})
            await relay.close()
            assert await readiness(c) == (503, {"database": "ok", "redis": "unavailable"})
            assert (await c.get("/healthz")).status_code == 200
            # Redis back on the same address: ready again, without a restart.
            await relay.open()
            for _ in range(50):
                if (await readiness(c))[0] == 200:
                    break
                await asyncio.sleep(0.1)
            assert await readiness(c) == (200, {"database": "ok", "redis": "ok"})
    finally:
        await relay.close()
