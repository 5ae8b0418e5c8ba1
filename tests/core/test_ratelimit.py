"""Rate limits (``core/ratelimit.py``) with a Redis of the test's own that dies and comes back:
the limits keep working from the in-process store meanwhile, say so once, and go back to
Redis when it answers."""

from __future__ import annotations

import logging

import pytest
from limits import RateLimitItemPerMinute

from core.errors import RateLimited
from core.ratelimit import RateLimiter
from tests.services import FAULTS, OwnRedis

pytestmark = FAULTS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_limits_fall_back_to_memory_while_redis_is_away_and_return(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "buergerbuero.ratelimit")
    clock = FakeClock()
    limiter = RateLimiter(enabled=True, redis_url=own_redis.url, rules={"booking": "3/minute"},
                          retry_seconds=5, clock=clock)
    other = RateLimiter(enabled=True, redis_url=own_redis.url, rules={"booking": "3/minute"})
    try:
        await limiter.hit("booking", "1.2.3.4")
        await other.hit("booking", "1.2.3.4")  # shared: another instance counts in Redis too
        assert limiter.away_since is None and limiter.counted_in_memory == 0

        own_redis.kill()
        # Still limited, now in this process alone (it starts counting afresh).
        for _ in range(3):
            await limiter.hit("booking", "1.2.3.4")
        with pytest.raises(RateLimited):
            await limiter.hit("booking", "1.2.3.4")
        assert await limiter.window_hit(RateLimitItemPerMinute(2), "login-failures", "a@b.c")
        assert limiter.away_since == clock.now and limiter.fallbacks == 1
        assert limiter.counted_in_memory == 5
        warnings = [r.getMessage() for r in caplog.records]
        assert warnings == ["rate limits: Redis unreachable (ConnectionError); counting in this "
                            "process until it answers"]

        own_redis.start()  # back, empty (no persistence)
        await limiter.hit("booking", "5.6.7.8")
        assert limiter.away_since is not None  # not retried before retry_seconds
        clock.now += 5
        await limiter.hit("booking", "5.6.7.8")
        assert limiter.away_since is None and limiter.counted_in_memory == 6
        assert caplog.records[-1].getMessage() == (
            "rate limits: Redis answers again after 5.0 s; back to shared counts")
        # Shared again: what one instance counts, the other sees.
        await other.hit("booking", "5.6.7.8")
        await other.hit("booking", "5.6.7.8")
        with pytest.raises(RateLimited):
            await limiter.hit("booking", "5.6.7.8")
        assert len(caplog.records) == 2
    finally:
        await limiter.close()
        await other.close()


async def test_a_frozen_redis_counts_as_away(own_redis: OwnRedis) -> None:
    """A server that accepts but never answers (stopped with SIGSTOP) costs one wait of at most
    a few seconds, then the limits run in memory."""
    limiter = RateLimiter(enabled=True, redis_url=own_redis.url, rules={"login": "5/minute"})
    try:
        await limiter.hit("login", "k")
        assert own_redis.process is not None
        own_redis.process.send_signal(19)  # SIGSTOP
        try:
            await limiter.hit("login", "k")
            assert limiter.away_since is not None
            await limiter.hit("login", "k")
            assert limiter.counted_in_memory == 2
        finally:
            own_redis.process.send_signal(18)  # SIGCONT
    finally:
        await limiter.close()
