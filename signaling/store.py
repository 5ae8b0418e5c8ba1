"""Shared room state: who holds each role, whether the citizen is admitted, whether the call ended.

The hub keeps only its local connections; everything two app instances must agree on lives here.
``MemoryRoomStore`` serves one process (and several hubs in one process, for tests);
``RedisRoomStore`` keeps one hash per room with a TTL and changes it only in Lua scripts, so two
instances racing for the same role cannot both win.

Presence is a lease: each holder entry carries an expiry that the hub refreshes while the
connection lives (``Hub.sweep``). A crashed instance cannot leave a ghost citizen "waiting" for
longer than one lease, and the peer's hub sees the lapsed lease (``Presence.peer ==
"expired"``) and tells its connection ``peer-left``. A store that lost its state (Redis restarted
without persistence, a flush) is filled again by the refresh: a holder whose entry is gone takes
its role back, with the admission it knew of (``Presence.held == "reclaimed"``); only a holder
whose role another connection took is told it lost it (``"lost"``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from signaling.grants import Role, other_role
from signaling.pubsub import reachable

if TYPE_CHECKING:
    from redis.asyncio import Redis

# A lease this short lets the living instance notice a dead one's connection within about
# lease + sweep interval (CONTRACT: peer-left within 15 s); the hub refreshes every few seconds.
DEFAULT_LEASE_SECONDS = 10.0

Held: TypeAlias = Literal["held", "reclaimed", "lost"]
PeerState: TypeAlias = Literal["absent", "live", "expired"]


@dataclass(frozen=True, slots=True)
class Holding:
    """A connection's claim on a role, as the hub refreshes it."""

    room: str
    role: Role
    conn: str
    keep_until: datetime  # the room state's lifetime, should the claim have to be made again
    admitted: bool  # the connection has seen the citizen admitted (restored with the claim)


@dataclass(frozen=True, slots=True)
class Presence:
    held: Held  # still ours; taken back after the store lost it; or another connection's now
    peer: PeerState  # the other role: no entry, a running lease, or a lapsed one (gone)


@dataclass(frozen=True, slots=True)
class JoinResult:
    refused: bool = False  # the room has ended and a citizen may not come back
    previous: str | None = None  # the connection this one replaces (to be closed with 4409)
    previous_live: bool = False  # whether that connection's lease was still running
    peer_present: bool = False
    admitted: bool = False


@dataclass(frozen=True, slots=True)
class AdmitResult:
    changed: bool  # False when the citizen was already admitted
    citizen_present: bool


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    citizen: bool = False
    clerk: bool = False
    admitted: bool = False
    ended: bool = False

    @property
    def waiting(self) -> bool:
        """The citizen is in the room and no call is running (not admitted, or clerk away)."""
        return self.citizen and not self.ended and not (self.admitted and self.clerk)


class RoomStore(Protocol):
    async def join(self, room: str, role: Role, conn: str, keep_until: datetime) -> JoinResult:
        """Make ``conn`` the holder of ``role``. A citizen is refused in an ended room; a clerk
        joining an ended room reopens it (not admitted). The state lives at least until
        ``keep_until``."""
        ...

    async def leave(self, room: str, role: Role, conn: str) -> bool:
        """Release ``role`` if ``conn`` still holds it; ``True`` if it did."""
        ...

    async def admit(self, room: str, conn: str) -> AdmitResult | None:
        """Admit the citizen; ``None`` unless ``conn`` holds the clerk role of a running room."""
        ...

    async def end(self, room: str, conn: str) -> bool:
        """End the room; ``False`` unless ``conn`` holds the clerk role and it had not ended."""
        ...

    async def refresh(self, holders: Sequence[Holding]) -> list[Presence]:
        """Extend the leases of the holders; claim the role again where the store has no holder
        for it (state lost); ``lost`` where another connection holds it now."""
        ...

    async def snapshot(self, room: str) -> RoomSnapshot: ...

    async def waiting(self, rooms: Sequence[str]) -> set[str]:
        """The rooms among ``rooms`` where a citizen is waiting."""
        ...


# --- in-process --------------------------------------------------------------------------------


@dataclass
class _Room:
    holders: dict[Role, tuple[str, float]] = field(default_factory=dict)  # conn, lease end
    admitted: bool = False
    ended: bool = False
    keep_until: float = 0.0


class MemoryRoomStore:
    """Room state in a dict. Each method runs without awaiting, so it is atomic on one loop."""

    def __init__(
        self,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._rooms: dict[str, _Room] = {}

    def _room(self, room: str) -> _Room | None:
        state = self._rooms.get(room)
        if state is not None and state.keep_until <= self._clock():
            del self._rooms[room]
            return None
        return state

    def _present(self, state: _Room, role: Role, now: float) -> bool:
        holder = state.holders.get(role)
        return holder is not None and holder[1] > now

    async def join(self, room: str, role: Role, conn: str, keep_until: datetime) -> JoinResult:
        now = self._clock()
        state = self._room(room) or self._rooms.setdefault(room, _Room())
        if state.ended:
            if role == "citizen":
                return JoinResult(refused=True)
            state.ended = state.admitted = False
        previous = state.holders.get(role)
        result = JoinResult(
            previous=previous[0] if previous else None,
            previous_live=previous is not None and previous[1] > now,
            peer_present=self._present(state, other_role(role), now),
            admitted=state.admitted,
        )
        state.holders[role] = (conn, now + self.lease_seconds)
        state.keep_until = max(state.keep_until, keep_until.timestamp())
        return result

    async def leave(self, room: str, role: Role, conn: str) -> bool:
        state = self._room(room)
        holder = state.holders.get(role) if state else None
        if state is None or holder is None or holder[0] != conn:
            return False
        del state.holders[role]
        return True

    async def admit(self, room: str, conn: str) -> AdmitResult | None:
        state = self._room(room)
        clerk = state.holders.get("clerk") if state else None
        if state is None or clerk is None or clerk[0] != conn or state.ended:
            return None
        changed = not state.admitted
        state.admitted = True
        return AdmitResult(changed, self._present(state, "citizen", self._clock()))

    async def end(self, room: str, conn: str) -> bool:
        state = self._room(room)
        clerk = state.holders.get("clerk") if state else None
        if state is None or clerk is None or clerk[0] != conn or state.ended:
            return False
        state.ended = True
        state.admitted = False
        return True

    async def refresh(self, holders: Sequence[Holding]) -> list[Presence]:
        now = self._clock()
        for room in list(self._rooms):
            self._room(room)  # drop rooms past their keep time
        results = []
        for h in holders:
            state = self._rooms.get(h.room)
            holder = state.holders.get(h.role) if state else None
            held: Held = "held"
            if holder is not None and holder[0] != h.conn:
                results.append(Presence("lost", "absent"))
                continue
            if state is None or holder is None:
                held = "reclaimed"
                state = self._rooms.setdefault(h.room, _Room())
                state.keep_until = max(state.keep_until, h.keep_until.timestamp())
                state.admitted = state.admitted or (h.admitted and not state.ended)
            state.holders[h.role] = (h.conn, now + self.lease_seconds)
            peer = state.holders.get(other_role(h.role))
            results.append(Presence(held, "absent" if peer is None
                                    else "live" if peer[1] > now else "expired"))
        return results

    async def snapshot(self, room: str) -> RoomSnapshot:
        state = self._room(room)
        if state is None:
            return RoomSnapshot()
        now = self._clock()
        return RoomSnapshot(
            citizen=self._present(state, "citizen", now),
            clerk=self._present(state, "clerk", now),
            admitted=state.admitted,
            ended=state.ended,
        )

    async def waiting(self, rooms: Sequence[str]) -> set[str]:
        return {room for room in rooms if (await self.snapshot(room)).waiting}


# --- Redis -------------------------------------------------------------------------------------

# Times in milliseconds: Redis' own clock (TIME), so instances with skewed clocks agree, unless
# the last argument is a time (``RedisRoomStore(clock=...)``: tests move time forward with it).
_NOW = """
local now = tonumber(ARGV[#ARGV])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms(x) return string.format('%d', x) end
local function live(v) return (tonumber(v) or 0) > now end
"""

_JOIN = _NOW + """
local key, role, other, conn = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local lease, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', key, role, role .. ':until', other, other .. ':until',
                     'admitted', 'ended', 'keep_until')
if h[6] == '1' then
  if role == 'citizen' then return {'refused', '', 0, 0, 0} end
  redis.call('HDEL', key, 'ended', 'admitted')
  h[5] = false
end
local prev, prev_live, peer, admitted = '', 0, 0, 0
if h[1] then
  prev = h[1]
  if live(h[2]) then prev_live = 1 end
end
if h[3] and live(h[4]) then peer = 1 end
if h[5] == '1' then admitted = 1 end
keep = math.max(tonumber(h[7]) or 0, keep)
redis.call('HSET', key, role, conn, role .. ':until', ms(now + lease), 'keep_until', ms(keep))
redis.call('PEXPIREAT', key, ms(keep))
return {'ok', prev, prev_live, peer, admitted}
"""

_LEAVE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':until')
  return 1
end
return 0
"""

# A holder refreshes its lease; where the store has no holder for the role (it lost its state)
# the holder claims it again, with the admission it knew of. Returns {held, peer}: held 1 ours,
# 2 claimed again, 0 another connection's; peer 0 no entry, 1 live, 2 lease lapsed.
_REFRESH = _NOW + """
local key, role, conn, other = KEYS[1], ARGV[1], ARGV[2], ARGV[5]
local h = redis.call('HMGET', key, role, other, other .. ':until', 'ended', 'keep_until')
local held = 1
if h[1] and h[1] ~= conn then return {0, 0} end
if not h[1] then
  held = 2
  local keep = math.max(tonumber(h[5]) or 0, tonumber(ARGV[4]))
  redis.call('HSET', key, role, conn, 'keep_until', ms(keep))
  if ARGV[6] == '1' and h[4] ~= '1' then redis.call('HSET', key, 'admitted', '1') end
  redis.call('PEXPIREAT', key, ms(keep))
end
redis.call('HSET', key, role .. ':until', ms(now + tonumber(ARGV[3])))
local peer = 0
if h[2] then
  if live(h[3]) then peer = 1 else peer = 2 end
end
return {held, peer}
"""

_ADMIT = _NOW + """
local h = redis.call('HMGET', KEYS[1], 'clerk', 'admitted', 'ended', 'citizen', 'citizen:until')
if h[1] ~= ARGV[1] or h[3] == '1' then return {-1, 0} end
local changed, present = 0, 0
if h[2] ~= '1' then
  redis.call('HSET', KEYS[1], 'admitted', '1')
  changed = 1
end
if h[4] and live(h[5]) then present = 1 end
return {changed, present}
"""

_END = """
local h = redis.call('HMGET', KEYS[1], 'clerk', 'ended')
if h[1] ~= ARGV[1] or h[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'ended', '1')
redis.call('HDEL', KEYS[1], 'admitted')
return 1
"""

_SNAPSHOT = _NOW + """
local h = redis.call('HMGET', KEYS[1], 'citizen', 'citizen:until', 'clerk', 'clerk:until',
                     'admitted', 'ended')
local function flag(b) if b then return 1 end return 0 end
return {flag(h[1] and live(h[2])), flag(h[3] and live(h[4])), flag(h[5] == '1'),
        flag(h[6] == '1')}
"""


_HELD: tuple[Held, Held, Held] = ("lost", "held", "reclaimed")
_PEER: tuple[PeerState, PeerState, PeerState] = ("absent", "live", "expired")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisRoomStore:
    """Room state in Redis hashes ``{prefix}room:{room}``, expiring after the join window."""

    def __init__(
        self,
        client: Redis[Any],
        prefix: str = "buero:",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` (seconds since the epoch) replaces Redis' clock for the leases; ``None``
        keeps Redis' own, which every instance shares."""
        self.client = client
        self.prefix = prefix
        self.lease_ms = int(lease_seconds * 1000)
        self._clock = clock
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(_LEAVE)
        self._refresh = client.register_script(_REFRESH)
        self._admit = client.register_script(_ADMIT)
        self._end = client.register_script(_END)
        self._snapshot = client.register_script(_SNAPSHOT)

    def key(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    def _now(self) -> str:
        """The last argument of the scripts that read the clock: empty for Redis' own."""
        return "" if self._clock is None else str(int(self._clock() * 1000))

    async def join(self, room: str, role: Role, conn: str, keep_until: datetime) -> JoinResult:
        args: list[str | int] = [
            role, other_role(role), conn, self.lease_ms, int(keep_until.timestamp() * 1000),
            self._now(),
        ]
        async with reachable():
            status, prev, prev_live, peer, admitted = await self._join(
                keys=[self.key(room)], args=args
            )
        if _text(status) == "refused":
            return JoinResult(refused=True)
        return JoinResult(
            previous=_text(prev) or None,
            previous_live=bool(prev_live),
            peer_present=bool(peer),
            admitted=bool(admitted),
        )

    async def leave(self, room: str, role: Role, conn: str) -> bool:
        async with reachable():
            return bool(await self._leave(keys=[self.key(room)], args=[role, conn]))

    async def admit(self, room: str, conn: str) -> AdmitResult | None:
        async with reachable():
            changed, present = await self._admit(keys=[self.key(room)],
                                                 args=[conn, self._now()])
        if int(changed) < 0:
            return None
        return AdmitResult(bool(changed), bool(present))

    async def end(self, room: str, conn: str) -> bool:
        async with reachable():
            return bool(await self._end(keys=[self.key(room)], args=[conn]))

    async def refresh(self, holders: Sequence[Holding]) -> list[Presence]:
        if not holders:
            return []
        async with reachable(), self.client.pipeline(transaction=False) as pipe:
            for h in holders:
                keep = int(h.keep_until.timestamp() * 1000)
                args: list[str | int] = [h.role, h.conn, self.lease_ms, keep,
                                         other_role(h.role), int(h.admitted), self._now()]
                await self._refresh(keys=[self.key(h.room)], args=args, client=pipe)
            results = await pipe.execute()
        return [Presence(_HELD[int(held)], _PEER[int(peer)]) for held, peer in results]

    async def snapshot(self, room: str) -> RoomSnapshot:
        async with reachable():
            result = await self._snapshot(keys=[self.key(room)], args=[self._now()])
        return self._to_snapshot(result)

    async def waiting(self, rooms: Sequence[str]) -> set[str]:
        if not rooms:
            return set()
        async with reachable(), self.client.pipeline(transaction=False) as pipe:
            for room in rooms:
                await self._snapshot(keys=[self.key(room)], args=[self._now()], client=pipe)
            results = await pipe.execute()
        pairs = zip(rooms, results, strict=True)
        return {room for room, result in pairs if self._to_snapshot(result).waiting}

    @staticmethod
    def _to_snapshot(values: Sequence[Any]) -> RoomSnapshot:
        citizen, clerk, admitted, ended = (bool(int(v)) for v in values)
        return RoomSnapshot(citizen=citizen, clerk=clerk, admitted=admitted, ended=ended)
