"""The message bus between hub instances: one channel per room.

Every hub subscribes to the rooms it holds local connections in and publishes *envelopes* there;
each hub delivers an envelope to its own matching local connection, if any. The in-process bus
does this with a dict; the Redis bus with pub/sub (``{prefix}room:{room}``), so a citizen on
instance A and a clerk on instance B meet.

An envelope is a JSON object:
``{"to": role, "conn": id?, "msg": {...}?, "raw": "..."?, "close": code?, "silent": bool?}`` —
deliver ``msg`` (or ``raw``, a relayed client frame's text, sent on as it is) and/or close with
``close`` to the holder of ``role`` (or only to connection ``conn``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from signaling.errors import BackendUnavailable
from signaling.pubsub import PubSubReader, reachable, text

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Envelope: TypeAlias = dict[str, Any]
Deliver: TypeAlias = Callable[[str, Envelope], None]
"""Called with (room, envelope) for every envelope on a joined room; must not block."""


class Bus(Protocol):
    async def start(self, deliver: Deliver) -> None: ...

    async def join(self, room: str) -> None:
        """Subscribe (counted). Once this returns, envelopes published to ``room`` arrive."""
        ...

    async def leave(self, room: str) -> None:
        """Drop one subscription of ``room``; unsubscribes when it was the last."""
        ...

    async def publish(self, room: str, envelope: Envelope) -> None: ...

    async def close(self) -> None: ...


def _deliver_safely(deliver: Deliver, room: str, envelope: Envelope) -> None:
    try:
        deliver(room, envelope)
    except Exception:
        log.exception("delivering a signalling envelope failed")


# --- in-process --------------------------------------------------------------------------------


class MemoryBroker:
    """What several in-process buses share (one per process, or one per test for two hubs)."""

    def __init__(self) -> None:
        self.subscribers: dict[str, dict[MemoryBus, int]] = {}


class MemoryBus:
    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.broker = broker or MemoryBroker()
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def join(self, room: str) -> None:
        buses = self.broker.subscribers.setdefault(room, {})
        buses[self] = buses.get(self, 0) + 1

    async def leave(self, room: str) -> None:
        buses = self.broker.subscribers.get(room)
        if not buses or self not in buses:
            return
        buses[self] -= 1
        if buses[self] <= 0:
            del buses[self]
        if not buses:
            del self.broker.subscribers[room]

    async def publish(self, room: str, envelope: Envelope) -> None:
        buses = self.broker.subscribers.get(room)
        if not buses:
            return
        for bus in list(buses):
            if bus._deliver is not None:
                _deliver_safely(bus._deliver, room, envelope)

    async def close(self) -> None:
        for room, buses in list(self.broker.subscribers.items()):
            buses.pop(self, None)
            if not buses:
                del self.broker.subscribers[room]
        self._deliver = None


# --- Redis -------------------------------------------------------------------------------------


class RedisBus:
    """Redis pub/sub: one PubSub connection per instance, one reader task.

    While Redis is away ``publish``, ``join`` and ``leave`` raise ``BackendUnavailable``; the hub
    keeps what it must publish and sends it once Redis is back. redis-py subscribes again by
    itself when its connection comes back (also to a restarted Redis).
    """

    def __init__(
        self, client: Redis[Any], prefix: str = "buero:", subscribe_timeout: float = 5.0
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.subscribe_timeout = subscribe_timeout
        # A per-instance channel keeps the PubSub connection subscribed (and readable) while
        # no room is; nothing is published there.
        self._instance_channel = f"{prefix}instance:{uuid.uuid4().hex}"
        self._reader: PubSubReader | None = None
        self._deliver: Deliver | None = None
        self._counts: dict[str, int] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()

    def channel(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._reader = PubSubReader(self.client.pubsub(), self._on_message,
                                    name="signaling-redis-bus")
        await self._subscribe(self._instance_channel)

    async def _subscribe(self, channel: str) -> None:
        # SUBSCRIBE is only sent here; the reader task sees the confirmation. Waiting for it
        # means no envelope published after join() returns can be missed.
        future = asyncio.get_running_loop().create_future()
        self._pending[channel] = future
        assert self._reader is not None, "start() first"
        try:
            await self._reader.pubsub.subscribe(channel)
            self._reader.start()
            async with asyncio.timeout(self.subscribe_timeout):
                await future
        finally:
            self._pending.pop(channel, None)

    async def join(self, room: str) -> None:
        async with self._lock:
            count = self._counts.get(room, 0)
            if count == 0:
                async with reachable():
                    await self._subscribe(self.channel(room))
            self._counts[room] = count + 1

    async def leave(self, room: str) -> None:
        async with self._lock:
            count = self._counts.get(room, 0) - 1
            if count > 0:
                self._counts[room] = count
                return
            if self._counts.pop(room, None) is not None and self._reader is not None:
                # Unsubscribing fails only while Redis is away; its return drops the old
                # subscriptions anyway, and redis-py subscribes again only to what is left.
                with contextlib.suppress(BackendUnavailable):
                    async with reachable():
                        await self._reader.pubsub.unsubscribe(self.channel(room))

    async def publish(self, room: str, envelope: Envelope) -> None:
        async with reachable():
            await self.client.publish(self.channel(room),
                                      json.dumps(envelope, separators=(",", ":")))

    def _on_message(self, message: dict[str, Any]) -> None:
        room_prefix = f"{self.prefix}room:"
        kind = text(message.get("type"))
        channel = text(message.get("channel"))
        if kind == "subscribe":
            future = self._pending.get(channel)
            if future is not None and not future.done():
                future.set_result(None)
        elif kind == "message" and channel.startswith(room_prefix) and self._deliver:
            try:
                envelope = json.loads(message["data"])
            except ValueError:
                log.warning("ignoring a malformed envelope on the signalling bus")
                return
            _deliver_safely(self._deliver, channel[len(room_prefix):], envelope)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        self._counts.clear()
        self._deliver = None
