"""Three workers match the waitlist at the same time on PostgreSQL, each with its own engine and
connections, and as three processes: each freed place is held for exactly one wish, the first
ones in the queue."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from app.api.waitlist import match_offices
from app.main import build_context
from app.settings import Settings
from booking.waitlist import WaitlistWish
from tests.app.api.waitlist_support import Site, site

__all__ = ["site"]

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite serialises its writers, there is no race to lose."""
    from tests.conftest import PG_URL, require

    require(PG_URL is not None, "BUERO_TEST_POSTGRES_URL")
    copies = request.getfixturevalue("pg_copies")
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    name = copies.take()
    request.addfinalizer(lambda: copies.drop(name))
    return str(make_url(PG_URL).set(database=name))


async def _offered(site: Site) -> list[str]:
    async with site.db.transaction() as session:
        rows = (await session.execute(select(WaitlistWish.email).where(  # type: ignore[call-overload]
            WaitlistWish.status == "offered").order_by(WaitlistWish.id))).scalars()
        return list(rows)


@pytest.mark.parametrize("freed", [1, 2])
async def test_three_workers_hold_each_freed_place_once(
        site: Site, settings_factory: Callable[..., Settings], freed: int) -> None:
    bookings = [await site.book("anna", 9, 0), await site.book("bert", 9, 15)]
    names = ["alice", "bob", "carl", "dora", "emil"]
    for name in names:
        await site.join(name)
    # Nothing free: the three workers find nothing to offer.
    workers = [build_context(settings_factory()) for _ in range(3)]
    try:
        assert await asyncio.gather(*(match_offices(w, None) for w in workers)) == [0, 0, 0]
        for token in bookings[:freed]:
            assert (await site.post("/api/v1/me/cancel", token)).status_code == 200
        for _ in range(3):  # several rounds, all three at once each time
            await asyncio.gather(*(match_offices(w, None) for w in workers))
    finally:
        for w in workers:
            await w.db.dispose()
    assert await _offered(site) == [f"{n}@example.org" for n in names[:freed]]
    held = [a for a in await site.held() if a.status == "reserved"]
    assert sorted(a.email for a in held) == sorted(f"{n}@example.org" for n in names[:freed])
    assert len({a.start_at for a in held}) == freed


def _worker_process(settings: dict[str, object], barrier: Any, rounds: int) -> int:
    """One worker process: its own interpreter, engine and connections; waits for the others,
    then matches ``rounds`` times. Returns how many offers it made."""
    async def run() -> int:
        state = build_context(Settings(_env_file=None, **settings))  # type: ignore[call-arg]
        try:
            await asyncio.to_thread(barrier.wait)
            made = 0
            for _ in range(rounds):
                made += await match_offices(state, None)
            return made
        finally:
            await state.db.dispose()

    return asyncio.run(run())


async def test_three_worker_processes_hold_a_freed_place_once(
        site: Site, settings_factory: Callable[..., Settings]) -> None:
    first = await site.book("anna", 9, 0)
    await site.book("bert", 9, 15)
    names = ["alice", "bob", "carl", "dora"]
    for name in names:
        await site.join(name)
    assert (await site.post("/api/v1/me/cancel", first)).status_code == 200
    settings = settings_factory()
    values = {k: getattr(settings, k) for k in ("env", "database_url", "secret_key", "base_url",
                                                "var_dir", "redis_prefix")}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(3)
        with ProcessPoolExecutor(3, mp_context=context) as pool:
            futures = [pool.submit(_worker_process, values, barrier, 3) for _ in range(3)]
            made = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    assert sum(made) == 1  # one freed place, one offer, by whichever process won
    assert await _offered(site) == ["alice@example.org"]
    assert [a.email for a in await site.held() if a.status == "reserved"] == ["alice@example.org"]
