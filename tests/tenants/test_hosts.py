"""The host map reads the municipalities once, however many requests arrive at that moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from core.audit import Actor
from tenants import hosts as hosts_module
from tenants.hosts import HostMap
from tenants.service import create_municipality


class Counting:
    """The database, counting the transactions begun through it; while ``held`` is clear, a
    transaction waits before it begins."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.begun = 0
        self.held = asyncio.Event()
        self.held.set()

    def transaction(self, *, write: bool = False) -> AbstractAsyncContextManager[AsyncSession]:
        self.begun += 1
        return self._after_hold(write)

    @asynccontextmanager
    async def _after_hold(self, write: bool) -> AsyncIterator[AsyncSession]:
        await self.held.wait()
        async with self.db.transaction(write=write) as session:
            yield session


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


async def test_a_thousand_requests_at_start_wait_for_one_read(db: Database) -> None:
    counting, hosts = Counting(db), HostMap()
    places = await asyncio.gather(*(hosts.resolve(counting, "a.example", "/book")
                                    for _ in range(1000)))
    assert counting.begun == 1
    assert {place.id for place in places} == {1}


async def test_an_aged_map_serves_on_while_one_read_renews_it(db: Database) -> None:
    counting, hosts = Counting(db), HostMap()
    await hosts.resolve(counting, "b.example", "/")
    async with db.transaction(write=True) as session:
        await create_municipality(session, Actor.system(),
                                  {"name": "Stadt Zwiebelbach", "hosts": ["b.example"]})
    # Aged, as if TTL_SECONDS had passed (the clock is not waited for).
    assert hosts._loaded_at is not None
    hosts._loaded_at -= hosts_module.TTL_SECONDS + 1

    stale = await asyncio.gather(*(hosts.resolve(counting, "b.example", "/")
                                   for _ in range(1000)))
    assert {place.id for place in stale} == {1}  # the map it had, without waiting
    assert counting.begun == 2  # the first read, and one renewal for the thousand
    assert hosts._loading is not None
    await hosts._loading
    renewed = await hosts.resolve(counting, "b.example", "/")
    assert renewed.name == "Stadt Zwiebelbach" and renewed.id != 1
    assert counting.begun == 2


async def test_a_read_begun_before_forget_is_not_kept(db: Database) -> None:
    counting, hosts = Counting(db), HostMap()
    counting.held.clear()
    first = asyncio.ensure_future(hosts.resolve(counting, "b.example", "/"))
    while counting.begun == 0:  # the read has begun, and waits
        await asyncio.sleep(0)
    async with db.transaction(write=True) as session:
        await create_municipality(session, Actor.system(),
                                  {"name": "Stadt Zwiebelbach", "hosts": ["b.example"]})
    hosts.forget()
    counting.held.set()
    place = await first
    # The waiting caller's read was dropped (it may predate the change): it waited for a
    # second read, which knows the new town; the next caller finds that map kept.
    assert place.name == "Stadt Zwiebelbach"
    after = await hosts.resolve(counting, "b.example", "/")
    assert after == place
    assert counting.begun == 2
