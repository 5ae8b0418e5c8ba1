"""The waiting room's own state: since when the citizen waits, and the clerk's last message.

Kept beside the room state (``signaling.store``) with the room's lifetime, never in the
database: the message is for the people waiting now ("about 5 minutes late") and is gone with
the room. ``MemoryWaitingRoom`` serves one process; ``RedisWaitingRoom`` keeps one hash per room
(``{prefix}wait:{room}``) that expires with the room, so every instance sees the same.

Times come from the caller (the hub's clock, ``Hub.now``), so a test moves them forward without
waiting. ``tell_citizen`` delivers a message to a room's citizen on whichever instance holds
the connection (over the bus); ``greet_citizen`` gives a citizen who arrives later the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from signaling.errors import BackendUnavailable
from signaling.protocol import MAX_NOTE_CHARS
from signaling.pubsub import reachable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Note:
    """A message of the office to those waiting."""

    text: str
    sent_at: datetime

    def message(self) -> dict[str, Any]:
        """The ``waiting-info`` signalling message (server → citizen)."""
        return {"type": "waiting-info", "text": self.text, "sent_at": self.sent_at.isoformat()}


class WaitingRoom(Protocol):
    async def arrived(self, room: str, at: datetime, keep_until: datetime) -> None:
        """The citizen entered the waiting room at ``at`` (kept if already known)."""
        ...

    async def since(self, rooms: Sequence[str]) -> dict[str, datetime]:
        """When the citizen of each of ``rooms`` began to wait (rooms without: left out)."""
        ...

    async def leave_note(self, room: str, note: Note, keep_until: datetime) -> None: ...

    async def note(self, room: str) -> Note | None: ...


@dataclass
class _Entry:
    keep_until: float
    since: datetime | None = None
    note: Note | None = None


@dataclass
class MemoryWaitingRoom:
    """In a dict; an entry is dropped once its room's keep time (by the callers' clock) passed."""

    _rooms: dict[str, _Entry] = field(default_factory=dict)
    _latest: float = 0.0  # the latest time a caller told: the clock of the expiry

    @property
    def kept(self) -> int:
        """How many rooms are kept. (Not ``__len__``: an empty store must stay truthy.)"""
        return len(self._rooms)

    def _entry(self, room: str) -> _Entry | None:
        entry = self._rooms.get(room)
        if entry is not None and entry.keep_until <= self._latest:
            del self._rooms[room]
            return None
        return entry

    def _keep(self, room: str, at: datetime, keep_until: datetime) -> _Entry:
        self._latest = max(self._latest, at.timestamp())
        # Drop every room past its keep time (a day's rooms: a short loop, and no leak).
        for name in [n for n, e in self._rooms.items() if e.keep_until <= self._latest]:
            del self._rooms[name]
        entry = self._entry(room) or self._rooms.setdefault(room, _Entry(0.0))
        entry.keep_until = max(entry.keep_until, keep_until.timestamp())
        return entry

    async def arrived(self, room: str, at: datetime, keep_until: datetime) -> None:
        entry = self._keep(room, at, keep_until)
        if entry.since is None:
            entry.since = at

    async def since(self, rooms: Sequence[str]) -> dict[str, datetime]:
        found = {room: self._entry(room) for room in rooms}
        return {room: e.since for room, e in found.items() if e is not None and e.since}

    async def leave_note(self, room: str, note: Note, keep_until: datetime) -> None:
        self._keep(room, note.sent_at, keep_until).note = note

    async def note(self, room: str) -> Note | None:
        entry = self._entry(room)
        return entry.note if entry is not None else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(_text(value)) / 1000, UTC)


def _expire(pipe: Any, key: str, now: datetime, keep_until: datetime) -> None:
    """Keep ``key`` until ``keep_until`` (never shorter than it already lives). The lifetime is
    handed to Redis as a duration from ``now`` (the hub's clock), not as a moment: Redis would
    read a moment on its own clock, and a skew between the two would end the room early."""
    ttl_ms = max(1, int((keep_until - now).total_seconds() * 1000))
    pipe.pexpire(key, ttl_ms, gt=True)
    pipe.pexpire(key, ttl_ms, nx=True)


class RedisWaitingRoom:
    """``{prefix}wait:{room}``: a hash with ``since``, ``note`` and ``note_at`` (milliseconds
    since the epoch), expiring with the room."""

    def __init__(self, client: Redis[Any], prefix: str = "buero:") -> None:
        self.client = client
        self.prefix = prefix

    def key(self, room: str) -> str:
        return f"{self.prefix}wait:{room}"

    async def arrived(self, room: str, at: datetime, keep_until: datetime) -> None:
        key = self.key(room)
        async with reachable(), self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "since", int(at.timestamp() * 1000))
            _expire(pipe, key, at, keep_until)
            await pipe.execute()

    async def since(self, rooms: Sequence[str]) -> dict[str, datetime]:
        if not rooms:
            return {}
        async with reachable(), self.client.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.hget(self.key(room), "since")
            values = await pipe.execute()
        return {room: _time(v) for room, v in zip(rooms, values, strict=True) if v}

    async def leave_note(self, room: str, note: Note, keep_until: datetime) -> None:
        key = self.key(room)
        async with reachable(), self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"note": note.text,
                                    "note_at": int(note.sent_at.timestamp() * 1000)})
            _expire(pipe, key, note.sent_at, keep_until)
            await pipe.execute()

    async def note(self, room: str) -> Note | None:
        async with reachable():
            text, at = await self.client.hmget(self.key(room), ["note", "note_at"])
        if not text or not at:
            return None
        return Note(_text(text), _time(at))


# --- with the hub ------------------------------------------------------------------------------


class Publisher(Protocol):
    async def publish(self, room: str, envelope: dict[str, Any]) -> None: ...


class Hub(Protocol):
    """What of ``signaling.rooms.Hub`` these functions use."""

    @property
    def waitroom(self) -> WaitingRoom: ...

    @property
    def outage(self) -> Publisher: ...

    @property
    def now(self) -> Callable[[], datetime]: ...


async def tell_citizen(hub: Hub, room: str, text: str, keep_until: datetime) -> Note:
    """Keep ``text`` as the room's last message and send it to the room's citizen, on whatever
    instance they are connected (nobody there: the next to arrive gets it)."""
    note = Note(text[:MAX_NOTE_CHARS], hub.now())
    try:
        await hub.waitroom.leave_note(room, note, keep_until)
    except BackendUnavailable as error:  # those waiting now still get it (the bus recovers)
        log.info("waiting room state unavailable: %s", error)
    await hub.outage.publish(room, {"to": "citizen", "msg": note.message()})
    return note


async def greet_citizen(hub: Hub, room: str, keep_until: datetime) -> dict[str, Any] | None:
    """A citizen entered the waiting room: note the time (if not known yet) and give back the
    last message for them, if any. The waiting room's extras must not keep anyone out: while
    the store is away this notes nothing."""
    try:
        await hub.waitroom.arrived(room, hub.now(), keep_until)
        note = await hub.waitroom.note(room)
    except BackendUnavailable as error:
        log.info("waiting room state unavailable: %s", error)
        return None
    return note.message() if note is not None else None


async def waiting_since(hub: Hub, rooms: Sequence[str]) -> dict[str, datetime]:
    """When the citizens of ``rooms`` began to wait; nothing while the store is away."""
    if not rooms:
        return {}
    try:
        return await hub.waitroom.since(rooms)
    except BackendUnavailable:
        return {}
