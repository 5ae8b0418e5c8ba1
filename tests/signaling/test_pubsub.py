"""The pub/sub reader stops, and the app's shutdown with it, even when the client library
swallows a cancellation (as it may while it reconnects after a Redis restart)."""

from __future__ import annotations

import asyncio
from typing import Any

from signaling.pubsub import PubSubReader


class StubbornPubSub:
    """A pub/sub connection whose read ignores the first ``swallow`` cancellations and then
    waits on, like a client that catches ``CancelledError`` during a reconnect."""

    def __init__(self, swallow: int) -> None:
        self.swallow = swallow
        self.closed = False

    async def get_message(self, timeout: Any = None) -> dict[str, Any] | None:
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if self.swallow <= 0:
                    raise
                self.swallow -= 1

    async def aclose(self) -> None:
        self.closed = True


async def test_close_stops_a_reader_that_swallows_a_cancellation() -> None:
    pubsub = StubbornPubSub(swallow=1)
    reader = PubSubReader(pubsub, lambda message: None, name="test")
    reader.start()
    await asyncio.sleep(0)  # the reader waits for a message
    async with asyncio.timeout(10):  # without the retries this would wait for ever
        await reader.close()
    assert pubsub.closed


async def test_close_gives_up_on_a_reader_that_never_stops() -> None:
    pubsub = StubbornPubSub(swallow=10**6)
    reader = PubSubReader(pubsub, lambda message: None, name="test")
    reader.start()
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await reader.close()  # returns: the shutdown goes on
    assert not pubsub.closed  # its connection is left to the garbage collector
    pubsub.swallow = 0
    for task in asyncio.all_tasks():
        if task.get_name() == "test":
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
