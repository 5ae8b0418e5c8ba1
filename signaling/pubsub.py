"""Reading a Redis pub/sub connection: one task per connection hands every message on.

The signalling bus (``signaling/bus.py``) and anything else that listens on Redis pub/sub (the
availability cache's invalidations) read the same way: ``get_message`` in a loop, a failed read
logged and retried (redis-py reconnects and subscribes again by itself), and on close the task
stopped before the connection is closed. This module imports nothing of the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

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

    def start(self) -> None:
        """Start reading (once); call it after the first SUBSCRIBE was sent."""
        if self._task is None:
            self._task = asyncio.create_task(self._read(), name=self._name)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("reading %s from Redis pub/sub failed; retrying", self._name,
                            exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message:
                self._handle(message)

    async def close(self) -> None:
        """Stop reading, then close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.pubsub.aclose()


def text(value: Any) -> str:
    """A channel name or message type as redis-py gives it (bytes unless decoding is on)."""
    return value.decode() if isinstance(value, bytes) else str(value)
