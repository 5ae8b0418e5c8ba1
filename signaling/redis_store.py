"""The room store in Redis (``signaling.store`` has the protocol and the rules it keeps): one
hash per room with a TTL, changed only in Lua scripts, so two instances racing for the same role
cannot both win."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from signaling.grants import ROLES, Role, other_role
from signaling.pubsub import reachable
from signaling.store import (
    DEFAULT_LEASE_SECONDS,
    AdmitResult,
    Held,
    Holding,
    JoinResult,
    PeerState,
    Presence,
    RoomSnapshot,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

# --- Redis -------------------------------------------------------------------------------------

# Times in milliseconds: Redis' own clock (TIME), so instances with skewed clocks agree, unless
# the last argument is a time (``RedisRoomStore(clock=...)``: tests move time forward with it).
# Keep times (how long a room's state lives) come from the hub's clock, which need not be Redis':
# a key's lifetime is handed over as a duration from the hub's now (``wall``), never a moment.
_NOW = """
local now = tonumber(ARGV[#ARGV])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms(x) return string.format('%d', x) end
local function live(v) return (tonumber(v) or 0) > now end
"""

# Returns {status, previous holder, its lease live, present (citizen 1, clerk 2, guest 4: the
# other roles with a live lease), admitted, guest admitted}.
_JOIN = _NOW + """
local key, role, conn = KEYS[1], ARGV[1], ARGV[2]
local lease, keep, wall = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', key, role, role .. ':until', 'admitted', 'guest_admitted', 'ended',
                     'keep_until', 'citizen', 'citizen:until', 'clerk', 'clerk:until', 'guest',
                     'guest:until')
if h[5] == '1' then
  if role ~= 'clerk' then return {'refused', '', 0, 0, 0, 0} end
  redis.call('HDEL', key, 'ended', 'admitted', 'guest_admitted')
  h[3] = false
  h[4] = false
end
local prev, prev_live, present, admitted, guest_admitted = '', 0, 0, 0, 0
if h[1] then
  prev = h[1]
  if live(h[2]) then prev_live = 1 end
end
local roles = {'citizen', 'clerk', 'guest'}
for i = 1, 3 do
  if roles[i] ~= role and h[5 + 2 * i] and live(h[6 + 2 * i]) then
    present = present + 2 ^ (i - 1)
  end
end
if h[3] == '1' then admitted = 1 end
if h[4] == '1' then guest_admitted = 1 end
keep = math.max(tonumber(h[6]) or 0, keep)
redis.call('HSET', key, role, conn, role .. ':until', ms(now + lease), 'keep_until', ms(keep))
redis.call('PEXPIRE', key, ms(math.max(1, keep - wall)))
return {'ok', prev, prev_live, present, admitted, guest_admitted}
"""

_LEAVE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':until')
  return 1
end
return 0
"""

# A holder refreshes its lease; where the store has no holder for the role (it lost its state)
# the holder claims it again, with the admission it knew of. Returns {held, peer, guest,
# citizen}: held 1 ours, 2 claimed again, 0 another connection's; the others 0 no entry, 1 live,
# 2 lease lapsed.
_REFRESH = _NOW + """
local key, role, conn, other = KEYS[1], ARGV[1], ARGV[2], ARGV[5]
local h = redis.call('HMGET', key, role, other, other .. ':until', 'ended', 'keep_until',
                     'guest', 'guest:until', 'citizen', 'citizen:until')
local held = 1
if h[1] and h[1] ~= conn then return {0, 0, 0, 0} end
if not h[1] then
  held = 2
  local keep = math.max(tonumber(h[5]) or 0, tonumber(ARGV[4]))
  redis.call('HSET', key, role, conn, 'keep_until', ms(keep))
  if ARGV[6] == '1' and h[4] ~= '1' then
    if role == 'guest' then
      redis.call('HSET', key, 'guest_admitted', '1')
    else
      redis.call('HSET', key, 'admitted', '1')
    end
  end
  redis.call('PEXPIRE', key, ms(math.max(1, keep - tonumber(ARGV[7]))))
end
redis.call('HSET', key, role .. ':until', ms(now + tonumber(ARGV[3])))
local function seen(holder, lease)
  if not holder then return 0 end
  if live(lease) then return 1 end
  return 2
end
return {held, seen(h[2], h[3]), seen(h[6], h[7]), seen(h[8], h[9])}
"""

# ARGV: the clerk's connection, the flag to set ('admitted' or 'guest_admitted'), the role it
# lets in ('citizen' or 'guest').
_ADMIT = _NOW + """
local flag, role = ARGV[2], ARGV[3]
local h = redis.call('HMGET', KEYS[1], 'clerk', flag, 'ended', role, role .. ':until')
if h[1] ~= ARGV[1] or h[3] == '1' then return {-1, 0} end
local changed, present = 0, 0
if h[2] ~= '1' then
  redis.call('HSET', KEYS[1], flag, '1')
  changed = 1
end
if h[4] and live(h[5]) then present = 1 end
return {changed, present}
"""

_END = """
local h = redis.call('HMGET', KEYS[1], 'clerk', 'ended')
if h[1] ~= ARGV[1] or h[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'ended', '1')
redis.call('HDEL', KEYS[1], 'admitted', 'guest_admitted')
return 1
"""

_SNAPSHOT = _NOW + """
local h = redis.call('HMGET', KEYS[1], 'citizen', 'citizen:until', 'clerk', 'clerk:until',
                     'admitted', 'ended', 'guest', 'guest:until', 'guest_admitted')
local function flag(b) if b then return 1 end return 0 end
return {flag(h[1] and live(h[2])), flag(h[3] and live(h[4])), flag(h[5] == '1'),
        flag(h[6] == '1'), flag(h[7] and live(h[8])), flag(h[9] == '1')}
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
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` (seconds since the epoch) replaces Redis' clock for the leases; ``None``
        keeps Redis' own, which every instance shares. ``wall`` is the clock the keep times
        handed in are read on (the hub's)."""
        self.client = client
        self.prefix = prefix
        self.lease_ms = int(lease_seconds * 1000)
        self._clock = clock
        self._wall = wall
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
            role, conn, self.lease_ms, int(keep_until.timestamp() * 1000),
            int(self._wall() * 1000), self._now(),
        ]
        async with reachable():
            status, prev, prev_live, mask, admitted, guest_admitted = await self._join(
                keys=[self.key(room)], args=args
            )
        if _text(status) == "refused":
            return JoinResult(refused=True)
        present = frozenset(r for i, r in enumerate(ROLES) if int(mask) & (1 << i))
        return JoinResult(
            previous=_text(prev) or None,
            previous_live=bool(prev_live),
            peer_present=other_role(role) in present,
            admitted=bool(admitted),
            present=present,
            guest_admitted=bool(guest_admitted),
        )

    async def leave(self, room: str, role: Role, conn: str) -> bool:
        async with reachable():
            return bool(await self._leave(keys=[self.key(room)], args=[role, conn]))

    async def admit(self, room: str, conn: str) -> AdmitResult | None:
        return await self._admitting(room, conn, "admitted", "citizen")

    async def admit_guest(self, room: str, conn: str) -> AdmitResult | None:
        return await self._admitting(room, conn, "guest_admitted", "guest")

    async def _admitting(self, room: str, conn: str, flag: str, role: Role
                         ) -> AdmitResult | None:
        async with reachable():
            changed, present = await self._admit(keys=[self.key(room)],
                                                 args=[conn, flag, role, self._now()])
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
                                         other_role(h.role), int(h.admitted),
                                         int(self._wall() * 1000), self._now()]
                await self._refresh(keys=[self.key(h.room)], args=args, client=pipe)
            results = await pipe.execute()
        return [Presence(_HELD[int(held)], _PEER[int(peer)], _PEER[int(guest)],
                         _PEER[int(citizen)]) for held, peer, guest, citizen in results]

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
        citizen, clerk, admitted, ended, guest, guest_admitted = (bool(int(v)) for v in values)
        return RoomSnapshot(citizen=citizen, clerk=clerk, admitted=admitted, ended=ended,
                            guest=guest, guest_admitted=guest_admitted)
