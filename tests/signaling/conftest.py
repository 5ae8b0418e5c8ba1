"""Backends for the signalling tests: in-process, or the real Redis (``@pytest.mark.redis``).

Tests that take ``backend`` run once per backend; two hubs from one backend share room state and
bus like two app instances do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from signaling import Hub, MemoryBroker, MemoryBus, MemoryRoomStore, RedisBus, RedisRoomStore
from signaling.bus import Bus
from signaling.store import RoomStore
from tests.conftest import REDIS_URL, require


@dataclass
class Backend:
    name: str
    store: Callable[[], RoomStore]
    bus: Callable[[], Bus]
    quiet: float  # how long "nothing arrives" waits


@pytest.fixture
async def redis_client() -> AsyncIterator[tuple[Redis, str]]:
    """A client and a key prefix of its own; the prefix's keys are deleted afterwards."""
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    prefix = f"buero-test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        store = MemoryRoomStore()
        broker = MemoryBroker()
        return Backend("memory", lambda: store, lambda: MemoryBus(broker), quiet=0.05)
    client, prefix = request.getfixturevalue("redis_client")
    return Backend(
        "redis",
        lambda: RedisRoomStore(client, prefix),
        lambda: RedisBus(client, prefix),
        quiet=0.2,
    )


HubFactory = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def make_hub(backend: Backend) -> AsyncIterator[HubFactory]:
    """``await make_hub(authorize, **options)``: a started hub on the backend (one per app
    instance); all are closed at the end of the test."""
    hubs: list[Hub] = []

    async def make(authorize: Any, **options: Any) -> Hub:
        hub = Hub(authorize, store=backend.store(), bus=backend.bus(), **options)
        await hub.start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.aclose()
