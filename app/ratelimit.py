"""Per-client rate limits with the ``limits`` library: in memory, or in Redis when configured."""

from __future__ import annotations

from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from core.errors import RateLimited


class RateLimiter:
    def __init__(self, *, enabled: bool, redis_url: str | None, rules: dict[str, str]) -> None:
        self.enabled = enabled
        self.storage: Storage
        if redis_url:
            self.storage = RedisStorage(_redis_uri(redis_url))
        else:
            self.storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self.storage)
        self._rules = {name: parse_many(spec) for name, spec in rules.items()}
        self.hits = 0
        self.hits_by_rule: dict[str, int] = {}  # read by app/metrics.py

    async def hit(self, rule: str, key: str) -> None:
        """Count one request of ``key`` against ``rule``; raise ``RateLimited`` when over."""
        if not self.enabled:
            return
        for item in self._rules[rule]:
            if not await self._strategy.hit(item, rule, key):
                self.hits += 1
                self.hits_by_rule[rule] = self.hits_by_rule.get(rule, 0) + 1
                raise RateLimited()

    async def count(self, rule: str, key: str) -> None:
        """Count one event of ``key`` under ``rule`` without refusing anything now (what counts
        are failures; ``test`` asks before the next attempt)."""
        if not self.enabled:
            return
        for item in self._rules[rule]:
            await self._strategy.hit(item, rule, key)

    async def test(self, rule: str, key: str) -> bool:
        """True when ``key`` may still act under ``rule`` (does not count)."""
        if not self.enabled:
            return True
        for item in self._rules[rule]:
            if not await self._strategy.test(item, rule, key):
                return False
        return True

    async def close(self) -> None:
        """Drop the Redis connections, if any (at the end of the lifespan)."""
        bridge = getattr(self.storage, "bridge", None)
        pool = getattr(getattr(bridge, "storage", None), "connection_pool", None)
        if pool is not None:
            pool.disconnect()

    async def clear(self, rule: str, key: str) -> None:
        for item in self._rules[rule]:
            await self._strategy.clear(item, rule, key)


def _redis_uri(url: str) -> str:
    # limits names its async Redis backend "async+redis://".
    if url.startswith("redis://") or url.startswith("rediss://"):
        return "async+" + url
    return url
