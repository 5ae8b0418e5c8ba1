"""The video call wired into the app: the signalling hub with its authorizer and event sink
(``calls/gate.py``), ICE servers and the connection tests, built in the lifespan.

One instance: the room store and the bus are in memory. With ``BUERO_REDIS_URL`` they live in
Redis, and a citizen on one instance meets a clerk on another.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from app.context import AppContext
from app.settings import Settings
from calls.echo import ConnectionTests, EchoConfig
from calls.gate import CallGate
from core.types import utc_seconds, utcnow
from monitoring.metrics import metrics_of
from signaling import (
    Hub,
    IceConfig,
    Limits,
    MemoryRoomStore,
    RedisBus,
    RedisRoomStore,
)
from signaling.waitroom import RedisWaitingRoom

log = logging.getLogger("buergerbuero.calls")

def ice_config(settings: Settings) -> IceConfig:
    return IceConfig(
        stun_urls=settings.stun_list(),
        turn_urls=settings.turn_list(),
        secret=settings.turn_secret,
        ttl_seconds=settings.turn_ttl_seconds,
    )


def call_gate(state: AppContext) -> CallGate:
    settings = state.settings
    return CallGate(
        state.db, state.links, state.secret_key,
        join_before_minutes=settings.join_before_minutes,
        join_after_minutes=settings.join_after_minutes,
        count=metrics_of(state).call_event,
    )


def build_hub(state: AppContext, redis: Redis[bytes] | None) -> Hub:
    settings = state.settings
    gate = call_gate(state)
    prefix = settings.redis_prefix
    return Hub(
        gate.authorize,
        # The room stores read the keep times the hub hands them on the hub's clock (``now``,
        # the product's); Redis keeps its own clock for the leases every instance shares.
        store=RedisRoomStore(redis, prefix, wall=utc_seconds) if redis is not None
        else MemoryRoomStore(clock=utc_seconds),
        bus=RedisBus(redis, prefix) if redis is not None else None,
        on_event=gate.on_event,
        revalidate=gate.still_valid,
        ice_servers=ice_config(settings),
        limits=Limits(hello_timeout=settings.call_hello_timeout_seconds),
        now=utcnow,  # the product's one clock, also for the join window
        waitroom=RedisWaitingRoom(redis, prefix) if redis is not None else None,
    )


def echo_config(settings: Settings) -> EchoConfig:
    return EchoConfig(
        max_concurrent=settings.connection_test_max_concurrent,
        seconds=settings.connection_test_seconds,
        stun_urls=tuple(settings.stun_list()), turn_urls=tuple(settings.turn_list()),
        turn_secret=settings.turn_secret, turn_ttl_seconds=settings.turn_ttl_seconds,
        allow_private=settings.connection_test_private_candidates,
        public_addresses=tuple(str(a) for a in settings.connection_test_public_addresses),
        redis_prefix=settings.redis_prefix,
    )


async def start_calls(state: AppContext) -> None:
    """Lifespan start: the Redis client (when configured), the hub, the connection tests."""
    settings = state.settings
    redis: Redis[bytes] | None = None
    try:
        if settings.redis_url:
            # A blocking pool: under a burst (many rooms closing at once) a command waits for a
            # free connection instead of failing with "Too many connections".
            pool: BlockingConnectionPool[Any] = BlockingConnectionPool.from_url(
                settings.redis_url, max_connections=200, timeout=20, socket_connect_timeout=2
            )
            redis = Redis.from_pool(pool)  # type: ignore[attr-defined]  # stubs predate it
            state.extras["redis"] = redis
        hub = build_hub(state, redis)
        state.extras["hub"] = hub
        await hub.start()
        state.extras["connection_tests"] = ConnectionTests(echo_config(settings), redis)
    except BaseException:
        await stop_calls(state)  # e.g. Redis unreachable: leave no connection behind
        raise


async def stop_calls(state: AppContext) -> None:
    """Lifespan end: close calls (clients reconnect to another instance), tests, Redis."""
    tests = state.extras.pop("connection_tests", None)
    if isinstance(tests, ConnectionTests):
        await tests.aclose()
    hub = state.extras.pop("hub", None)
    if isinstance(hub, Hub):
        await hub.aclose()
    # Any: the redis-py stubs in use predate Redis.aclose().
    redis: Any = state.extras.pop("redis", None)
    if redis is not None:
        await redis.aclose()


def hub_of(state: AppContext) -> Hub:
    hub = state.extras.get("hub")
    if not isinstance(hub, Hub):
        raise RuntimeError("the call hub is not running")
    return hub

