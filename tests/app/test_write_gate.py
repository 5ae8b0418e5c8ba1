"""Write transactions leave a quarter of the pool to reads: a rush of bookings waits at the gate,
and a page that only reads still gets a connection."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.db import Database


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_reads_get_a_connection_while_writers_fill_their_share(db_url: str) -> None:
    db = Database(db_url, pool_size=4)
    assert db.writers == 3
    release = asyncio.Event()
    inside = 0

    async def writer() -> None:
        nonlocal inside
        async with db.transaction(write=True) as session:
            await session.execute(text("SELECT 1"))  # holds a connection
            inside += 1
            await release.wait()

    try:
        writers = [asyncio.create_task(writer()) for _ in range(5)]
        for _ in range(100):
            await asyncio.sleep(0.01)
            if inside == 3:
                break
        assert inside == 3  # the fourth and fifth wait at the gate, not in the pool
        # A read finds the pool's fourth connection at once (the pool would wait 120 s).
        async with asyncio.timeout(5), db.transaction() as session:
            assert (await session.execute(text("SELECT 2"))).scalar_one() == 2
        assert inside == 3
        release.set()
        await asyncio.gather(*writers)
        assert inside == 5
    finally:
        release.set()
        await db.dispose()


def test_a_pool_of_one_still_writes() -> None:
    assert Database("postgresql+asyncpg://u@127.0.0.1/x", pool_size=1).writers == 1
    assert Database("postgresql+asyncpg://u@127.0.0.1/x", pool_size=20).writers == 15
