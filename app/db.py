"""Database engines and the unit of work.

One ``Database`` per app, built in the lifespan. Handlers open one transaction per request with
``db.transaction(write=...)``; it commits once at the end (the request's single commit point) or
rolls back on any exception. Services receive the session and never commit.

Write transactions pass a gate that leaves a quarter of the pool to reads: a rush of bookings
queues at the gate, and a page that only reads still finds a connection at once.

SQLite serialises writers. A deferred transaction that reads and then writes can fail with
``SQLITE_BUSY`` at once when another writer committed in between (WAL snapshot rule), so write
transactions on SQLite start with ``BEGIN IMMEDIATE`` and wait on ``busy_timeout`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 60_000


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # Writers queue on the pool under load (SQLite runs one at a time); wait rather than fail.
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_timeout=120
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Engines and session factories for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 20, max_overflow: int = 0) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=120,
                pool_pre_ping=True,
            )
            self.write_engine = self.engine
        # At most this many write transactions at once; the rest of the pool is the reads'.
        self.writers = max(1, pool_size - pool_size // 4)
        self._write_gate = asyncio.Semaphore(self.writers)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits at the end when ``write``, rolls back on error."""
        if write:
            async with self._write_gate, self._write() as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
            return
        async with self._read() as session:
            try:
                yield session
                # A read transaction simply ends when the session closes: closing detaches the
                # loaded rows without expiring them, so they stay usable after the block.
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
