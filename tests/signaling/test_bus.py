"""The bus: envelopes reach every hub subscribed to the room, and only those."""

from __future__ import annotations

import asyncio
from typing import Any

from signaling.bus import Bus
from tests.signaling.conftest import Backend


class Inbox:
    def __init__(self) -> None:
        self.items: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def __call__(self, room: str, envelope: dict[str, Any]) -> None:
        self.items.put_nowait((room, envelope))

    async def get(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.items.get(), 3)


async def started(backend: Backend) -> tuple[Bus, Inbox]:
    bus = backend.bus()
    inbox = Inbox()
    await bus.start(inbox)
    return bus, inbox


async def test_envelopes_reach_subscribed_buses(backend: Backend) -> None:
    (a, inbox_a), (b, inbox_b) = await started(backend), await started(backend)
    try:
        await a.join("r1")
        await b.join("r1")
        envelope = {"to": "clerk", "msg": {"type": "offer", "sdp": "v=0\r\n", "x": [1, None]}}
        await a.publish("r1", envelope)
        assert await inbox_a.get() == ("r1", envelope)
        assert await inbox_b.get() == ("r1", envelope)
        # A room nobody joined goes nowhere; a room only b joined reaches only b.
        await b.join("r2")
        await a.publish("r3", {"to": "clerk"})
        await a.publish("r2", {"to": "citizen", "close": 4409, "conn": "c1"})
        assert await inbox_b.get() == ("r2", {"to": "citizen", "close": 4409, "conn": "c1"})
        await asyncio.sleep(backend.quiet)
        assert inbox_a.items.empty()
    finally:
        await a.close()
        await b.close()


async def test_subscriptions_are_counted(backend: Backend) -> None:
    (a, inbox_a), (b, _) = await started(backend), await started(backend)
    try:
        await a.join("r")
        await a.join("r")
        await a.leave("r")
        await b.publish("r", {"n": 1})
        assert await inbox_a.get() == ("r", {"n": 1})  # one subscription left
        await a.leave("r")
        await a.leave("r")  # one too many: harmless
        await b.publish("r", {"n": 2})
        await asyncio.sleep(backend.quiet)
        assert inbox_a.items.empty()
        await a.join("r")  # and back
        await b.publish("r", {"n": 3})
        assert await inbox_a.get() == ("r", {"n": 3})
    finally:
        await a.close()
        await b.close()


async def test_order_is_kept_per_publisher(backend: Backend) -> None:
    (a, _), (b, inbox_b) = await started(backend), await started(backend)
    try:
        await b.join("r")
        for n in range(50):
            await a.publish("r", {"n": n})
        assert [(await inbox_b.get())[1]["n"] for _ in range(50)] == list(range(50))
    finally:
        await a.close()
        await b.close()


async def test_a_failing_handler_does_not_stop_the_bus(backend: Backend) -> None:
    bus = backend.bus()
    seen: list[int] = []

    def deliver(room: str, envelope: dict[str, Any]) -> None:
        seen.append(envelope["n"])
        if envelope["n"] == 1:
            raise RuntimeError("boom")

    await bus.start(deliver)
    try:
        await bus.join("r")
        await bus.publish("r", {"n": 1})
        await bus.publish("r", {"n": 2})
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
        assert seen == [1, 2]
    finally:
        await bus.close()
