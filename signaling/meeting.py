"""The third participant: a guest (an interpreter) the clerk invites into the call.

The two-party call (CONTRACT §4) stays as it is: while only clerk and citizen are in a room every
frame and message is exactly the two-party one. A guest joins with a token the app grants for the
role ``guest``; the call becomes a mesh of three peer connections (no media server), one per
pair, each with its own offer and answer:

=================  =========================  ==========================================
pair               starts when                who offers (``initiator``)
=================  =========================  ==========================================
clerk – citizen    the two-party ``start``    the clerk (unchanged)
clerk – guest      both there, guest admitted the clerk
citizen – guest    both there, both admitted  the citizen
=================  =========================  ==========================================

Messages of the guest's pairs (the two-party ones carry no ``role``):

- ``{"type": "peer-waiting", "role": "guest"}`` to the clerk: the guest waits to be let in;
  the guest gets ``{"type": "waiting"}`` like the citizen;
- ``{"type": "admit", "role": "guest"}`` from the clerk lets the guest in (``admit`` alone
  still means the citizen); the admission holds across reconnects;
- ``{"type": "peer-joined", "role": R, "initiator": bool}``: build a fresh peer connection to
  ``R`` now (also after either side reconnected); the initiator sends the offer;
- offer, answer and candidate of these pairs carry ``"to": R``; the server relays them with
  ``"from"`` (the sender's role) in its place;
- ``{"type": "peer-left", "role": R}``: ``R`` left (``bye``, lost connection, lapsed lease); the
  guest's ``bye`` leaves only the guest; the clerk's ``end`` gives the guest ``ended`` too.
"""

from __future__ import annotations

from typing import Any, Protocol

from signaling.bus import Envelope
from signaling.errors import BackendUnavailable, CloseCode
from signaling.grants import Event, Grant, Role, other_role
from signaling.outage import Outage
from signaling.protocol import Answer, Candidate, Offer, encode
from signaling.session import Session
from signaling.store import JoinResult, RoomSnapshot, RoomStore

GUEST: Role = "guest"


def initiates(role: Role, peer: Role) -> bool:
    """Who offers in a pair: the clerk with everyone, the citizen with the guest."""
    return role == "clerk" or (role == "citizen" and peer == "guest")


def joined_message(role: Role, peer: Role) -> dict[str, Any]:
    """What ``role`` is told when its connection to ``peer`` is to be built."""
    return {"type": "peer-joined", "role": peer, "initiator": initiates(role, peer)}


class Host(Protocol):
    """What the meeting needs of the hub (``signaling.rooms.Hub``)."""

    store: RoomStore
    outage: Outage

    async def publish(self, room: str, envelope: Envelope) -> None: ...

    async def snapshot(self, room: str) -> RoomSnapshot: ...

    async def emit(self, grant: Grant, event: Event, role: Role) -> None: ...


class Meeting:
    """The hub's rules for the guest (one per hub; the hub calls it at each step)."""

    def __init__(self, hub: Host) -> None:
        self.hub = hub

    async def _pair(self, room: str, role: Role, peer: Role) -> None:
        """Both sides of a pair build their connection afresh."""
        await self.hub.publish(room, {"to": role, "msg": joined_message(role, peer)})
        await self.hub.publish(room, {"to": peer, "msg": joined_message(peer, role)})

    # --- joining -------------------------------------------------------------------------------

    async def guest_joined(self, session: Session, grant: Grant, result: JoinResult) -> None:
        """The guest's connection is in the room (``welcome`` sent)."""
        room = grant.room
        if not result.guest_admitted:
            session.deliver({"type": "waiting"})
            if "clerk" in result.present:
                await self.hub.publish(
                    room, {"to": "clerk", "msg": {"type": "peer-waiting", "role": GUEST}})
            return
        paired = False
        if "clerk" in result.present:
            await self._pair(room, "clerk", GUEST)
            paired = True
        if "citizen" in result.present and result.admitted:
            await self._pair(room, "citizen", GUEST)
            paired = True
        if not paired:
            session.deliver({"type": "waiting"})  # admitted, but nobody is in the call yet

    async def member_joined(self, session: Session, grant: Grant, result: JoinResult) -> None:
        """The clerk or the citizen is in the room (after the two-party messages)."""
        if GUEST not in result.present:
            return
        role = grant.role
        if not result.guest_admitted:
            if role == "clerk":
                session.deliver({"type": "peer-waiting", "role": GUEST})
            return
        if role == "clerk" or result.admitted:
            await self._pair(grant.room, role, GUEST)

    # --- admitting -----------------------------------------------------------------------------

    async def admit_guest(self, session: Session) -> None:
        """The clerk's ``{"type": "admit", "role": "guest"}``."""
        hub, grant = self.hub, session.grant
        assert grant is not None  # joined
        try:
            result = await hub.store.admit_guest(grant.room, session.id)
        except BackendUnavailable as error:
            hub.outage.failed(error)
            return  # the clerk's page may admit again once the store is back
        if result is None or not result.changed:
            return
        await hub.emit(grant, "admitted", GUEST)
        if not result.citizen_present:  # the guest is not there (any more)
            return
        await self._pair(grant.room, "clerk", GUEST)
        await self.citizen_admitted(grant)

    async def citizen_admitted(self, grant: Grant) -> None:
        """The citizen is in the call: connect them to an admitted guest who is there."""
        snapshot = await self.hub.snapshot(grant.room)
        if snapshot.guest and snapshot.guest_admitted and snapshot.citizen and snapshot.admitted:
            await self._pair(grant.room, "citizen", GUEST)

    # --- relaying ------------------------------------------------------------------------------

    async def relay(self, session: Session, message: Offer | Answer | Candidate) -> None:
        """An offer, answer or candidate addressed to a role (``"to"``): on with ``"from"``.
        Outside a running pair nobody is to hear it (like the two-party relay)."""
        grant = session.grant
        assert grant is not None and message.raw is not None and message.peer is not None
        to, role = message.peer, grant.role
        running = to in session.links or (
            role != GUEST and to == other_role(role) and session.started)
        if to == role or not running:
            return
        frame = {k: v for k, v in message.raw.items() if k != "to"}
        frame["from"] = role
        await self.hub.publish(grant.room, {"to": to, "raw": encode(frame)})

    # --- leaving -------------------------------------------------------------------------------

    async def left(self, grant: Grant) -> None:
        """Tell the others that ``grant.role`` left: the two-party counterpart as in §4 (the
        guest hears it from ``tell_guest``, after the event is recorded, as before)."""
        room, role = grant.room, grant.role
        if role == GUEST:
            for other in ("clerk", "citizen"):
                await self.hub.publish(
                    room, {"to": other, "msg": {"type": "peer-left", "role": GUEST}})
            return
        await self.hub.publish(room, {"to": other_role(role), "msg": {"type": "peer-left"}})

    async def tell_guest(self, grant: Grant) -> None:
        """The guest hears that the clerk or the citizen left."""
        if grant.role != GUEST:
            await self.hub.publish(
                grant.room, {"to": GUEST, "msg": {"type": "peer-left", "role": grant.role}})

    async def ended(self, room: str) -> None:
        """The clerk ended the call: the guest is done too."""
        await self.hub.publish(
            room, {"to": GUEST, "msg": {"type": "ended"}, "close": int(CloseCode.NORMAL),
                   "silent": True})
