"""Shared room state: who holds each role, whether the citizen is admitted, whether the call ended.

The hub keeps only its local connections; everything two app instances must agree on lives here.
``MemoryRoomStore`` serves one process (and several hubs in one process, for tests);
``RedisRoomStore`` (``signaling.redis_store``) keeps one hash per room with a TTL and changes
it only in Lua scripts, so two instances racing for the same role cannot both win.

Presence is a lease: each holder entry carries an expiry that the hub refreshes while the
connection lives (``Hub.sweep``). A crashed instance cannot leave a ghost citizen "waiting" for
longer than one lease, and the peer's hub sees the lapsed lease (``Presence.peer ==
"expired"``) and tells its connection ``peer-left``. A store that lost its state (Redis restarted
without persistence, a flush) is filled again by the refresh: a holder whose entry is gone takes
its role back, with the admission it knew of (``Presence.held == "reclaimed"``); only a holder
whose role another connection took is told it lost it (``"lost"``).

The third role, ``guest`` (``signaling.meeting``), has a holder and a lease like the others and an
admission of its own (``guest_admitted``); the clerk's ``end`` ends it for the guest too, and a
guest, like the citizen, cannot come back into an ended room.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, TypeAlias

from signaling.grants import ROLES, Role, other_role

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
    admitted: bool  # the connection has seen its admission (the citizen's; a guest its own)


@dataclass(frozen=True, slots=True)
class Presence:
    held: Held  # still ours; taken back after the store lost it; or another connection's now
    peer: PeerState  # the other role: no entry, a running lease, or a lapsed one (gone)
    # The third role's view (signaling.meeting); not compared, so a two-party Presence equals
    # the two-party one it always was.
    guest: PeerState = field(default="absent", compare=False)  # seen by clerk or citizen
    citizen: PeerState = field(default="absent", compare=False)  # seen by the guest


@dataclass(frozen=True, slots=True)
class JoinResult:
    refused: bool = False  # the room has ended and a citizen may not come back
    previous: str | None = None  # the connection this one replaces (to be closed with 4409)
    previous_live: bool = False  # whether that connection's lease was still running
    peer_present: bool = False
    admitted: bool = False
    # For the guest's pairs (signaling.meeting); not compared, like Presence's.
    present: frozenset[Role] = field(default=frozenset(), compare=False)  # live other roles
    guest_admitted: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class AdmitResult:
    changed: bool  # False when the citizen (or the guest) was already admitted
    citizen_present: bool  # the admitted role (the citizen, or the guest) is present


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    citizen: bool = False
    clerk: bool = False
    admitted: bool = False
    ended: bool = False
    guest: bool = False
    guest_admitted: bool = False

    @property
    def waiting(self) -> bool:
        """The citizen is in the room and no call is running (not admitted, or clerk away)."""
        return self.citizen and not self.ended and not (self.admitted and self.clerk)

    @property
    def guest_waiting(self) -> bool:
        return self.guest and not self.ended and not self.guest_admitted


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

    async def admit_guest(self, room: str, conn: str) -> AdmitResult | None:
        """Admit the guest; ``None`` unless ``conn`` holds the clerk role of a running room."""
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
    guest_admitted: bool = False
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
            if role != "clerk":
                return JoinResult(refused=True)
            state.ended = state.admitted = state.guest_admitted = False
        previous = state.holders.get(role)
        result = JoinResult(
            previous=previous[0] if previous else None,
            previous_live=previous is not None and previous[1] > now,
            peer_present=self._present(state, other_role(role), now),
            admitted=state.admitted,
            present=frozenset(r for r in ROLES if r != role and self._present(state, r, now)),
            guest_admitted=state.guest_admitted,
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

    async def admit_guest(self, room: str, conn: str) -> AdmitResult | None:
        state = self._room(room)
        clerk = state.holders.get("clerk") if state else None
        if state is None or clerk is None or clerk[0] != conn or state.ended:
            return None
        changed = not state.guest_admitted
        state.guest_admitted = True
        return AdmitResult(changed, self._present(state, "guest", self._clock()))

    async def end(self, room: str, conn: str) -> bool:
        state = self._room(room)
        clerk = state.holders.get("clerk") if state else None
        if state is None or clerk is None or clerk[0] != conn or state.ended:
            return False
        state.ended = True
        state.admitted = state.guest_admitted = False
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
                if h.role == "guest":
                    state.guest_admitted |= h.admitted and not state.ended
                else:
                    state.admitted = state.admitted or (h.admitted and not state.ended)
            state.holders[h.role] = (h.conn, now + self.lease_seconds)

            def seen(role: Role, state: _Room = state) -> PeerState:
                holder = state.holders.get(role)
                return "absent" if holder is None else "live" if holder[1] > now else "expired"

            results.append(Presence(held, seen(other_role(h.role)), seen("guest"),
                                    seen("citizen")))
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
            guest=self._present(state, "guest", now),
            guest_admitted=state.guest_admitted,
        )

    async def waiting(self, rooms: Sequence[str]) -> set[str]:
        return {room for room in rooms if (await self.snapshot(room)).waiting}
