"""The availability cache on its own: single flight, computations overtaken by a write, the time
bounds, the memory bound, and invalidation messages over a real Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from app.api.availability import RedisInvalidation
from booking.availability_cache import CHANNEL, AvailabilityCache, Computed
from tests.conftest import REDIS_URL, SHARED_REDIS, require

FAR = datetime(2100, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def computing(body: bytes, changes_at: datetime = FAR, gate: asyncio.Event | None = None
              ) -> tuple[Callable[[], Awaitable[Computed]], list[int]]:
    calls: list[int] = []

    async def compute() -> Computed:
        calls.append(1)
        if gate is not None:
            await gate.wait()
        return body, changes_at

    return compute, calls


async def test_concurrent_misses_compute_once() -> None:
    cache = AvailabilityCache(60)
    gate = asyncio.Event()
    compute, calls = computing(b'{"slots":[]}', gate=gate)
    waiting = [asyncio.create_task(cache.fetch(b"q", 1, compute)) for _ in range(25)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*waiting)
    assert len(calls) == 1
    assert all(a is answers[0] for a in answers)
    assert cache.get(b"q") is answers[0]
    assert answers[0].etag.startswith('"') and answers[0].headers[0] == (b"content-length", b"12")


async def test_a_waiter_that_goes_away_does_not_cancel_the_others() -> None:
    cache = AvailabilityCache(60)
    gate = asyncio.Event()
    compute, calls = computing(b"body", gate=gate)
    first = asyncio.create_task(cache.fetch(b"q", 1, compute))
    second = asyncio.create_task(cache.fetch(b"q", 1, compute))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert (await second).body == b"body"
    assert len(calls) == 1 and cache.get(b"q") is not None


async def test_a_computation_overtaken_by_a_write_is_not_kept() -> None:
    cache = AvailabilityCache(60)
    gate = asyncio.Event()
    before, _ = computing(b"before the write", gate=gate)
    early = asyncio.create_task(cache.fetch(b"q", 1, before))
    await asyncio.sleep(0)
    cache.invalidate(frozenset({1}))  # a commit while the first read is running
    # A read that starts after the commit does not join the older computation.
    after, calls_after = computing(b"after the write")
    late = await cache.fetch(b"q", 1, after)
    assert late.body == b"after the write" and len(calls_after) == 1
    gate.set()
    assert (await early).body == b"before the write"  # its own reader gets it, nobody else
    kept = cache.get(b"q")
    assert kept is not None and kept.body == b"after the write"


async def test_a_write_at_another_office_does_not_disturb() -> None:
    cache = AvailabilityCache(60)
    gate = asyncio.Event()
    compute, _ = computing(b"office 1", gate=gate)
    running = asyncio.create_task(cache.fetch(b"q1", 1, compute))
    await asyncio.sleep(0)
    await cache.fetch(b"q2", 2, computing(b"office 2")[0])
    cache.invalidate(frozenset({2}))
    gate.set()
    await running
    assert cache.get(b"q1") is not None and cache.get(b"q2") is None
    cache.invalidate(None)
    assert cache.get(b"q1") is None and len(cache) == 0


async def test_the_age_bound() -> None:
    clock = Clock()
    cache = AvailabilityCache(10, clock=clock)
    await cache.fetch(b"q", 1, computing(b"x")[0])
    clock.now += 9.9
    assert cache.get(b"q") is not None
    clock.now += 0.1
    assert cache.get(b"q") is None and len(cache) == 0


async def test_a_busy_answer_is_renewed_before_it_ages_out() -> None:
    clock = Clock()
    cache = AvailabilityCache(10, clock=clock)
    bodies = iter([b"first", b"second"])
    gate = asyncio.Event()
    calls: list[float] = []

    async def compute() -> Computed:
        calls.append(clock.now)
        if len(calls) > 1:
            await gate.wait()
        return next(bodies), FAR

    await cache.fetch(b"q", 1, compute)
    clock.now += 7.9
    assert cache.get(b"q") is not None and len(calls) == 1
    clock.now += 0.2  # past 80 % of the bound: this read starts the successor ...
    kept = cache.get(b"q")
    assert kept is not None and kept.body == b"first"
    await asyncio.sleep(0)
    assert len(calls) == 2
    kept = cache.get(b"q")  # ... and reads meanwhile get the kept answer, no second computation
    assert kept is not None and kept.body == b"first" and len(calls) == 2
    gate.set()
    async with asyncio.timeout(5):  # the successor replaces it once computed
        while (kept := cache.get(b"q")) is not None and kept.body == b"first":
            await asyncio.sleep(0)
    clock.now += 5  # past the first answer's bound, within the second's
    kept = cache.get(b"q")
    assert kept is not None and kept.body == b"second" and len(calls) == 2


async def test_an_answer_ended_by_time_is_not_renewed_early() -> None:
    clock = Clock()
    cache = AvailabilityCache(10, clock=clock)
    compute, calls = computing(b"x", datetime.fromtimestamp(clock.now + 9, UTC))
    await cache.fetch(b"q", 1, compute)
    clock.now += 8.5  # the same answer would come back: nothing to start
    assert cache.get(b"q") is not None
    await asyncio.sleep(0)
    assert len(calls) == 1


async def test_the_time_bound_of_the_answer_itself() -> None:
    clock = Clock()
    cache = AvailabilityCache(600, clock=clock)
    changes_at = datetime.fromtimestamp(clock.now + 5, UTC)  # e.g. a slot becoming too soon
    await cache.fetch(b"q", 1, computing(b"x", changes_at)[0])
    clock.now += 4.9
    assert cache.get(b"q") is not None
    clock.now += 0.1
    assert cache.get(b"q") is None
    # An answer that is out of date on arrival is handed out but not kept.
    stale = datetime.fromtimestamp(clock.now - 1, UTC)
    await cache.fetch(b"q", 1, computing(b"y", stale)[0])
    assert cache.get(b"q") is None


async def test_memory_bound_drops_the_least_recently_used() -> None:
    cache = AvailabilityCache(60, max_bytes=100)
    for key in (b"a", b"b"):
        await cache.fetch(key, 1, computing(b"x" * 40)[0])
    assert cache.get(b"a") is not None  # a is now more recent than b
    await cache.fetch(b"c", 1, computing(b"x" * 40)[0])
    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None and cache.get(b"c") is not None


async def test_switched_off() -> None:
    cache = AvailabilityCache(0)
    compute, calls = computing(b"x")
    first = await cache.fetch(b"q", 1, compute)
    second = await cache.fetch(b"q", 1, compute)
    assert len(calls) == 2 and first.body == second.body == b"x"
    assert cache.get(b"q") is None


async def test_errors_reach_every_waiter_and_are_not_kept() -> None:
    cache = AvailabilityCache(60)
    gate = asyncio.Event()

    async def failing() -> Computed:
        await gate.wait()
        raise LookupError("no such office")

    waiting = [asyncio.create_task(cache.fetch(b"q", 1, failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert cache.get(b"q") is None
    assert (await cache.fetch(b"q", 1, computing(b"ok")[0])).body == b"ok"


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
async def redis() -> AsyncIterator[Redis[Any]]:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    client: Redis[Any] = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()  # type: ignore[attr-defined]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


@SHARED_REDIS
@pytest.mark.redis
async def test_instances_tell_each_other_over_redis(redis: Redis[Any]) -> None:
    here, there = AvailabilityCache(600), AvailabilityCache(600)
    prefix = f"buero-test:{uuid.uuid4().hex}:"  # its own channel: no other test's apps hear it
    bus_here = RedisInvalidation(redis, here, prefix)
    bus_there = RedisInvalidation(redis, there, prefix)
    channel = bus_here.channel
    assert channel == f"{prefix}{CHANNEL}"
    stranger = f"buero-test:{uuid.uuid4().hex}:{CHANNEL}"  # another installation's channel
    await bus_here.start()
    await bus_there.start()
    try:
        for cache in (here, there):
            await cache.fetch(b"office-7", 7, computing(b"7")[0])
            await cache.fetch(b"office-8", 8, computing(b"8")[0])

        bus_here.publish(frozenset({7}))  # what the commit listener does after a commit here
        await eventually(lambda: there.get(b"office-7") is None)
        assert there.get(b"office-8") is not None
        assert here.get(b"office-7") is not None  # its own message is not applied twice

        # A message nobody can read drops everything (something changed; what is unknown).
        # Another installation on the same Redis announces "everything changed", then this one
        # announces office 7 again: only the second arrives (Redis keeps one client's order).
        await there.fetch(b"office-7", 7, computing(b"7")[0])
        await redis.publish(stranger, json.dumps({"origin": "elsewhere", "offices": None}))
        await redis.publish(channel, json.dumps({"origin": "elsewhere", "offices": [7]}))
        await eventually(lambda: there.get(b"office-7") is None)
        assert there.get(b"office-8") is not None

        await redis.publish(channel, "not json")
        await eventually(lambda: len(there) == 0)

        await here.fetch(b"office-8", 8, computing(b"8")[0])
        await redis.publish(channel, json.dumps({"origin": "elsewhere", "offices": None}))
        await eventually(lambda: len(here) == 0)
    finally:
        await bus_here.close()
        await bus_there.close()
