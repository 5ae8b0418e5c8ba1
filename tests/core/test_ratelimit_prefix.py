"""Two installations on one Redis (``BUERO_REDIS_PREFIX``) count their rate limits apart; two
instances of one installation count together."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from core.errors import RateLimited
from core.ratelimit import RateLimiter
from tests.conftest import REDIS_URL, require

pytestmark = pytest.mark.redis


async def test_installations_on_one_redis_count_apart() -> None:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    town_a, town_b = (f"buero-test:{uuid.uuid4().hex}:" for _ in range(2))
    rules = {"booking": "2/minute"}
    a1 = RateLimiter(enabled=True, redis_url=REDIS_URL, rules=rules, redis_prefix=town_a)
    a2 = RateLimiter(enabled=True, redis_url=REDIS_URL, rules=rules, redis_prefix=town_a)
    b = RateLimiter(enabled=True, redis_url=REDIS_URL, rules=rules, redis_prefix=town_b)
    client: Any = Redis.from_url(REDIS_URL)
    try:
        await a1.hit("booking", "1.2.3.4")
        await a2.hit("booking", "1.2.3.4")  # the same installation: the second hit of two
        with pytest.raises(RateLimited):
            await a1.hit("booking", "1.2.3.4")
        await b.hit("booking", "1.2.3.4")  # another installation: its own count
        await b.hit("booking", "1.2.3.4")
        assert a1.away_since is None and b.away_since is None  # all of it counted in Redis
        assert [key async for key in client.scan_iter(match=f"{town_a}*")]
        assert [key async for key in client.scan_iter(match=f"{town_b}*")]
    finally:
        for prefix in (town_a, town_b):
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
        await client.aclose()
        for limiter in (a1, a2, b):
            await limiter.close()
