"""A token bucket for the per-connection message rate limit.

Browsers trickle ICE candidates in bursts of a few dozen right after ``start``; a bucket lets a
burst through while still capping the sustained rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self, now: float | None = None) -> bool:
        """Take one token; ``False`` when the bucket is empty. ``now`` saves reading the clock
        when the caller just did (it must be this bucket's clock)."""
        if now is None:
            now = self._clock()
        tokens = self._tokens + (now - self._last) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self._last = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True
