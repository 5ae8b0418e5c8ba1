"""Per-client rate limits with the ``limits`` library: in memory, or in Redis when configured.

While Redis cannot be reached, the limits are counted in this process instead of failing the
request: the first failure logs one warning, and every ``retry_seconds`` one call tries Redis
again; when it answers, counting goes back there and one line says how long it was away. The
counts made in memory meanwhile are not carried over: for those seconds each instance limits on
its own, so a client may get up to (instances × limit) requests through. ``away_since``,
``fallbacks`` and ``counted_in_memory`` are read by the app's metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from coredis.retry import NoRetryPolicy
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError

from core.errors import RateLimited

log = logging.getLogger("buergerbuero.ratelimit")

T = TypeVar("T")

# A call that takes longer counts as Redis being away (a frozen server answers nothing).
REDIS_TIMEOUT_SECONDS = 2.0


class _Store:
    """One storage with the two strategies used on it."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.moving = MovingWindowRateLimiter(storage)
        self.fixed = FixedWindowRateLimiter(storage)


class RateLimiter:
    def __init__(self, *, enabled: bool, redis_url: str | None, rules: dict[str, str],
                 redis_prefix: str = "buero:", retry_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._memory = _Store(MemoryStorage())
        # No retries inside the client (coredis, the limits default): a failed call falls back
        # at once, and the client logs no line per retry.
        client: dict[str, Any] = {"retry_policy": NoRetryPolicy()}
        self._redis = _Store(RedisStorage(
            _redis_uri(redis_url), wrap_exceptions=True, key_prefix=f"{redis_prefix}limits",
            connect_timeout=REDIS_TIMEOUT_SECONDS,
            stream_timeout=REDIS_TIMEOUT_SECONDS, **client,
        )) if redis_url else None
        self._rules = {name: parse_many(spec) for name, spec in rules.items()}
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._tried_at = 0.0  # clock() of the last call to Redis that failed
        self.hits = 0
        self.hits_by_rule: dict[str, int] = {}
        self.away_since: float | None = None  # clock() when Redis was lost; None: it answers
        self.fallbacks = 0  # how often Redis was lost
        self.counted_in_memory = 0  # calls counted in this process because Redis was away

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    async def _run(self, op: Callable[[_Store], Awaitable[T]]) -> T:
        """``op`` on Redis, or on the in-process store while Redis is away."""
        redis = self._redis
        if redis is not None and (self.away_since is None
                                  or self._clock() - self._tried_at >= self.retry_seconds):
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    result = await op(redis)
            except (StorageError, OSError) as exc:  # OSError: a socket error not wrapped
                self._lost(exc)
            else:
                self._back()
                return result
        if redis is not None:
            self.counted_in_memory += 1
        return await op(self._memory)

    async def _moving(self, op: Literal["hit", "test", "clear"], item: RateLimitItem, rule: str,
                      key: str) -> Any:
        return await self._run(lambda s: getattr(s.moving, op)(item, rule, key))

    def _lost(self, exc: Exception) -> None:
        now = self._clock()
        self._tried_at = now
        if self.away_since is None:
            self.away_since = now
            self.fallbacks += 1
            log.warning("rate limits: Redis unreachable (%s); counting in this process until "
                        "it answers", type(getattr(exc, "storage_error", exc)).__name__)

    def _back(self) -> None:
        if self.away_since is not None:
            log.warning("rate limits: Redis answers again after %.1f s; back to shared counts",
                        self._clock() - self.away_since)
            self.away_since = None

    async def hit(self, rule: str, key: str) -> None:
        """Count one request of ``key`` against ``rule``; raise ``RateLimited`` when over."""
        if not self.enabled:
            return
        for item in self._rules[rule]:
            if not await self._moving("hit", item, rule, key):
                self.hits += 1
                self.hits_by_rule[rule] = self.hits_by_rule.get(rule, 0) + 1
                raise RateLimited()

    async def count(self, rule: str, key: str) -> None:
        """Count one event of ``key`` under ``rule`` without refusing anything now (what counts
        are failures; ``test`` asks before the next attempt)."""
        if not self.enabled:
            return
        for item in self._rules[rule]:
            await self._moving("hit", item, rule, key)

    async def test(self, rule: str, key: str) -> bool:
        """True when ``key`` may still act under ``rule`` (does not count)."""
        if not self.enabled:
            return True
        for item in self._rules[rule]:
            if not await self._moving("test", item, rule, key):
                return False
        return True

    async def clear(self, rule: str, key: str) -> None:
        for item in self._rules[rule]:
            await self._moving("clear", item, rule, key)

    async def window_hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one event in a fixed window of the shared store, even with the limits off
        (account lockout counts); False when over ``item``."""
        return await self._run(lambda s: s.fixed.hit(item, *identifiers))

    async def window_test(self, item: RateLimitItem, *identifiers: str) -> bool:
        return await self._run(lambda s: s.fixed.test(item, *identifiers))

    async def close(self) -> None:
        """Drop the Redis connections, if any (at the end of the lifespan)."""
        bridge = getattr(self._redis.storage, "bridge", None) if self._redis else None
        pool = getattr(getattr(bridge, "storage", None), "connection_pool", None)
        if pool is not None:
            pool.disconnect()


def _redis_uri(url: str | None) -> str:
    # limits names its async Redis backend "async+redis://".
    url = url or ""
    if url.startswith("redis://") or url.startswith("rediss://"):
        return "async+" + url
    return url
