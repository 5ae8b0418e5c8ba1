"""Reading a Redis pub/sub connection: one task per connection hands every message on.

The signalling bus (``signaling/bus.py``) and anything else that listens on Redis pub/sub (the
availability cache's invalidations) read the same way: ``get_message`` in a loop, a failed read
retried (redis-py reconnects and subscribes again by itself) and logged once per outage, not per
try; on close the task is stopped before the connection is closed. ``reachable()`` turns Redis'
connection failures into ``BackendUnavailable``. This module imports nothing of the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.errors import BackendUnavailable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def reachable() -> AsyncIterator[None]:
    """Redis' connection failures as ``BackendUnavailable`` (callers ride out the outage)."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise BackendUnavailable(str(error) or type(error).__name__) from error

CLOSE_TRIES = 3  # cancellations sent to a reader that does not stop ...
CLOSE_WAIT_SECONDS = 1.0  # ... each waited for this long

Handle = Callable[[dict[str, Any]], None]
"""Called with every message redis-py reads (subscriptions and messages); must not block."""


class PubSubReader:
    """A redis-py ``PubSub`` connection and the task that reads it."""

    def __init__(self, pubsub: Any, handle: Handle, *, name: str) -> None:
        # Any: the redis-py stubs in use predate PubSub.aclose().
        self.pubsub: Any = pubsub
        self._handle = handle
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start reading (once); call it after the first SUBSCRIBE was sent."""
        if self._task is None:
            self._task = asyncio.create_task(self._read(), name=self._name)

    async def _read(self) -> None:
        failing_since: float | None = None
        while not self._closing:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if failing_since is None:  # one line per outage, not one per try
                    failing_since = time.monotonic()
                    log.warning("reading %s from Redis pub/sub failed (%s); retrying",
                                self._name, error or type(error).__name__)
                await asyncio.sleep(0.5)
                continue
            if failing_since is not None:
                log.warning("reading %s from Redis pub/sub works again after %.1f s",
                            self._name, time.monotonic() - failing_since)
                failing_since = None
            if message:
                self._handle(message)

    async def close(self) -> None:
        """Stop reading, then close the connection. Bounded even when the client library
        swallows a cancellation while it reconnects (the reader would go on waiting for a
        message that never comes, and the app's shutdown with it)."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            for _ in range(CLOSE_TRIES):
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=CLOSE_WAIT_SECONDS)
                if done:
                    break
            else:
                log.warning("the %s reader did not stop; leaving its connection", self._name)
                return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await self.pubsub.aclose()


def text(value: Any) -> str:
    """A channel name or message type as redis-py gives it (bytes unless decoding is on)."""
    return value.decode() if isinstance(value, bytes) else str(value)
