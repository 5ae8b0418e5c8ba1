"""Rooms: the signalling rules, over an abstract room store and message bus.

One ``Hub`` per app instance. It holds only its own connections (``Session``); what instances
must agree on (who holds each role, admitted, ended) is in the ``RoomStore``, and messages for a
connection on another instance travel over the ``Bus``. The same code runs in-process (memory
store and bus) and across instances (Redis): there is one implementation of the rules.

The rules (CONTRACT §4): at most one citizen and one clerk per room; the citizen waits until the
clerk admits; admission holds across reconnects; when both are present and admitted both get
``start`` (the clerk initiates); offer/answer/candidate are relayed unchanged; ``bye`` tells the
other ``peer-left``; the clerk's ``end`` gives the citizen ``ended`` and closes the room to the
citizen; a newer connection of a role replaces the older (4409, the other side gets
``peer-reconnected`` and a fresh ``start`` when admitted). A third participant, the guest the
clerk invites, follows the rules of ``signaling.meeting`` without changing these.

Wiring (``app/calls.py``): ``Hub(authorize, store=, bus=, on_event=, ice_servers=, revalidate=)``
lives in the lifespan (``await hub.start()``, ``await hub.aclose()``); the WebSocket endpoint
accepts and calls ``await hub.serve(connection, receive)``.
``serve`` attaches the connection (the hello timer starts), feeds each frame, and detaches when
``receive()`` returns ``None`` (client gone) or the hub closed the connection. Lower level:
``session = hub.attach(conn)``; ``await session.feed(frame)`` per frame, in order;
``await session.detach()`` once the socket is gone; ``session.wait_closed()``.

Dead peers: rely on the ASGI server's WebSocket pings (uvicorn ``ws_ping_interval`` and
``ws_ping_timeout``, 20 s each by default): a peer that stops answering is disconnected and the
other side hears ``peer-left``; a send that does not finish within ``Limits.send_timeout`` drops
the connection. ``sweep()`` (``signaling.upkeep``, run by the hub itself) refreshes presence
leases, tells a peer when the other instance died, enforces the join window and revocation, and
brings the hub back after a store outage (``signaling.outage``), during which calls go on.
Keep uvicorn's ``ws_max_size`` above 64 KiB (its default is 16 MiB) so oversized frames reach the
hub and get 4413 rather than the server's 1009.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from signaling.bus import Bus, Envelope, MemoryBus
from signaling.errors import BackendUnavailable, CloseCode, ProtocolError
from signaling.extras import Extra
from signaling.grants import Authorizer, Event, EventSink, Grant, IceServers, Role, other_role
from signaling.meeting import Meeting
from signaling.outage import Outage
from signaling.protocol import (
    Admit,
    Answer,
    Bye,
    Candidate,
    ClientMessage,
    End,
    Hello,
    Offer,
    Ping,
    Welcome,
    screen_client,
)
from signaling.routing import LocalRoom, forget, route
from signaling.serving import serve
from signaling.session import Connection, Limits, Session
from signaling.store import MemoryRoomStore, RoomSnapshot, RoomStore
from signaling.upkeep import Revalidator, Upkeep
from signaling.waitroom import MemoryWaitingRoom, WaitingRoom, greet_citizen

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Hub:
    def __init__(
        self,
        authorize: Authorizer,
        *,
        store: RoomStore | None = None,
        bus: Bus | None = None,
        on_event: EventSink | None = None,
        ice_servers: IceServers | None = None,
        limits: Limits | None = None,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        revalidate: Revalidator | None = None,
        waitroom: WaitingRoom | None = None,
    ) -> None:
        self.store: RoomStore = store or MemoryRoomStore()
        self.waitroom: WaitingRoom = waitroom or MemoryWaitingRoom()  # signaling.waitroom
        self.bus: Bus = bus or MemoryBus()
        # MemoryBus.publish delivers at once, in this call: a local peer can be served directly.
        self._inline_bus = isinstance(self.bus, MemoryBus)
        self.limits = limits or Limits()
        self._authorize = authorize
        self._on_event = on_event
        self._ice_servers = ice_servers
        self.now = now
        self.monotonic = monotonic
        self._sessions: dict[str, Session] = {}
        self._rooms: dict[str, LocalRoom] = {}
        self.outage = Outage(self.bus, monotonic, self.limits.recovery_grace, self._tell_joined)
        self._upkeep = Upkeep(self, revalidate)
        self.meeting = Meeting(self)
        self._maintenance: asyncio.Task[None] | None = None
        self._started = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.bus.start(self._route)
        self._maintenance = asyncio.create_task(self._maintain(), name="signaling-sweep")
        self._started = True

    async def aclose(self, grace: float = 5.0) -> None:
        """Close every connection with 1001 (clients reconnect elsewhere), then stop."""
        self._started = False
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
            self._maintenance = None
        sessions = list(self._sessions.values())
        for session in sessions:
            session.close(CloseCode.GOING_AWAY)
        if sessions:
            waits = [asyncio.ensure_future(s.wait_closed()) for s in sessions]
            await asyncio.wait(waits, timeout=grace)
            for wait in waits:
                wait.cancel()
        for session in list(self._sessions.values()):
            await session.detach()
        await self.bus.close()

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the endpoint's API ------------------------------------------------------------------

    def attach(self, conn: Connection) -> Session:
        """Register a freshly accepted connection; the hello timer starts now."""
        if not self._started:
            raise RuntimeError("the hub is not started")
        session = Session(self, conn, self.limits, self.monotonic)
        self._sessions[session.id] = session
        return session

    async def serve(
        self, conn: Connection, receive: Callable[[], Awaitable[str | bytes | None]]
    ) -> None:
        """Run one connection to its end: ``receive()`` yields frames, ``None`` once the client
        is gone. Returns when either side closed; the room is left by then."""
        await serve(self, conn, receive)

    # --- queries for the app -----------------------------------------------------------------

    async def is_waiting(self, room: str) -> bool:
        """A citizen is in the room and no call is running (for the clerk agenda)."""
        return (await self.snapshot(room)).waiting

    async def waiting_rooms(self, rooms: Sequence[str]) -> set[str]:
        """The rooms with a waiting citizen; none known while the store is away."""
        try:
            return await self.store.waiting(rooms)
        except BackendUnavailable as error:
            self.outage.failed(error)
            return set()

    async def snapshot(self, room: str) -> RoomSnapshot:
        try:
            return await self.store.snapshot(room)
        except BackendUnavailable as error:
            self.outage.failed(error)
            return RoomSnapshot()

    def sessions(self) -> list[Session]:
        """This instance's connections (a copy: safe to close them while iterating)."""
        return list(self._sessions.values())

    @property
    def connections(self) -> int:
        return len(self._sessions)

    # --- frames and messages -----------------------------------------------------------------

    async def handle_frame(self, session: Session, frame: str | bytes) -> None:
        if session.state in ("closing", "closed"):
            return
        now = session.last_seen = self.monotonic()
        turn = session.lock
        if not turn.take():  # a join or the teardown is under way
            await turn.acquire()
        try:
            if session.state in ("closing", "closed"):
                return
            if not session.bucket.allow(now):
                raise ProtocolError(CloseCode.TOO_MANY, "message rate exceeded")
            message = screen_client(frame, self.limits.max_frame_bytes)
            if message is not None:
                await self._dispatch(session, message)
            elif session.state == "new":
                raise ProtocolError(CloseCode.BAD_MESSAGE, "message before hello")
            elif session.started:
                # Offer, answer, candidate (inline: the path of almost every frame). Relayed
                # unchanged: the frame passed the strict codec, so its text goes on as it came.
                # Outside a running call (before start, after peer-left) no one is to hear it.
                grant = session.grant
                assert grant is not None  # joined
                raw = frame if isinstance(frame, str) else frame.decode()
                to = other_role(grant.role)
                if self._inline_bus:
                    # The in-process bus would hand the envelope straight back to _route:
                    # deliver to a local peer directly (same order, no envelope). Not with
                    # Redis, where a start or peer-left may still be on its way through it.
                    local = self._rooms.get(grant.room)
                    peer = local.by_role.get(to) if local is not None else None
                    if peer is not None and peer.state == "joined":
                        peer.deliver(raw)
                        return
                await self.publish(grant.room, {"to": to, "raw": raw})
        except ProtocolError as error:
            log.info("%r closed with %d: %s", session, error.code, error.reason)
            session.close(error.code)
        except BackendUnavailable as error:
            # Only a join gets here (a joined connection's messages wait in the backlog): the
            # client tries again in a moment, 1013 is not final.
            self.outage.failed(error)
            session.close(CloseCode.TRY_AGAIN_LATER)
        except Exception:
            log.exception("%r: handling a message failed", session)
            session.close(CloseCode.INTERNAL_ERROR)
        finally:
            turn.release()

    async def _dispatch(self, session: Session, message: ClientMessage) -> None:
        """Every message but the relayed ones (``screen_client`` gives ``None`` for those)."""
        if session.state == "new":
            if not isinstance(message, Hello):
                raise ProtocolError(CloseCode.BAD_MESSAGE, "message before hello")
            await self._join(session, message.token)
            return
        if isinstance(message, Hello):
            raise ProtocolError(CloseCode.BAD_MESSAGE, "second hello")
        assert session.grant is not None  # joined
        grant = session.grant
        if isinstance(message, Ping):
            session.deliver({"type": "pong"})
        elif isinstance(message, Bye):
            session.close(CloseCode.NORMAL)  # teardown tells the peer
        elif isinstance(message, Extra):
            message.check_sender(grant.role)  # 4403 for a kind this role may not send
            if not message.empty:
                await self.relay(session, grant, message.relayed(grant.role))
        elif isinstance(message, Offer | Answer | Candidate):
            await self.meeting.relay(session, message)  # addressed to a role ("to")
        elif grant.role != "clerk":
            raise ProtocolError(CloseCode.FORBIDDEN, f"{message.type} is for the clerk")
        elif isinstance(message, Admit) and message.role == "guest":
            await self.meeting.admit_guest(session)
        elif isinstance(message, Admit):
            await self.admit(session)
        elif isinstance(message, End):
            await self._end(session, grant)

    async def relay(self, session: Session, grant: Grant, message: dict[str, Any]) -> None:
        """A checked message (``signaling.extras``) to the other party, in a running call."""
        if session.started:
            await self.publish(grant.room, {"to": other_role(grant.role), "msg": message})

    async def _join(self, session: Session, token: str) -> None:
        session.state = "joining"
        session.cancel_hello_timer()
        try:
            async with asyncio.timeout(self.limits.authorize_timeout):
                grant = await self._authorize(token)
        except TimeoutError:
            log.error("%r: the authorizer did not answer in time", session)
            session.close(CloseCode.INTERNAL_ERROR)
            return
        except BackendUnavailable:  # the app's database is away (the app logs it)
            session.close(CloseCode.TRY_AGAIN_LATER)
            return
        if grant is None:
            raise ProtocolError(CloseCode.UNAUTHORIZED, "token refused")
        if not grant.is_open(self.now()):
            raise ProtocolError(CloseCode.FORBIDDEN, "outside the join window")
        session.grant = grant
        session.token = token
        room, role = grant.room, grant.role
        # Subscribe before claiming the role: a replacement published right after must arrive.
        await self.bus.join(room)
        session.subscribed = True
        result = await self.store.join(
            room, role, session.id, grant.closes_at + self.limits.room_grace
        )
        if result.refused:
            raise ProtocolError(CloseCode.FORBIDDEN, "room has ended")
        session.holder = True
        if result.previous:
            await self.publish(
                room, {"to": role, "conn": result.previous, "close": int(CloseCode.REPLACED)}
            )
        if session.state != "joining":
            # Closed while the store answered (replaced by a racing newer connection, or the
            # hub shuts down): announce nothing; teardown releases the role if still ours.
            return
        session.state = "joined"
        self._rooms.setdefault(room, LocalRoom()).by_role[role] = session
        session.deliver(Welcome(role, grant.reference, self._ice_for(grant)).to_dict())
        await self.emit(grant, "joined", role)
        if role == "guest":
            await self.meeting.guest_joined(session, grant, result)
            return
        peer = other_role(role)
        if result.previous_live and result.peer_present:
            await self.publish(room, {"to": peer, "msg": {"type": "peer-reconnected"}})
        if result.admitted and result.peer_present:
            await self._start(session, grant)
        elif role == "citizen":
            session.deliver({"type": "waiting"})
            note = await greet_citizen(self, room, grant.closes_at + self.limits.room_grace)
            if note is not None:
                session.deliver(note)
            if result.peer_present:
                await self.publish(room, {"to": peer, "msg": {"type": "peer-waiting"}})
        elif result.peer_present:
            session.deliver({"type": "peer-waiting"})
        await self.meeting.member_joined(session, grant, result)

    async def _start(self, session: Session, grant: Grant) -> None:
        peer = other_role(grant.role)
        await self.publish(
            grant.room, {"to": peer, "msg": {"type": "start", "initiator": peer == "clerk"}}
        )
        session.deliver({"type": "start", "initiator": grant.role == "clerk"})
        await self.emit(grant, "connected", grant.role)

    async def admit(self, session: Session) -> None:
        """The clerk's ``admit``; while the store is away it waits for the store's return."""
        grant = session.grant
        assert grant is not None  # joined
        try:
            result = await self.store.admit(grant.room, session.id)
        except BackendUnavailable as error:
            self.outage.failed(error)
            session.admit_pending = True
            return
        session.admitted = True
        if result is None or not result.changed:
            return  # replaced meanwhile, or admitted already: nothing new to do
        await self.emit(grant, "admitted", "clerk")
        if result.citizen_present:
            await self._start(session, grant)
            await self.meeting.citizen_admitted(grant)

    async def _end(self, session: Session, grant: Grant) -> None:
        try:
            ended = await self.store.end(grant.room, session.id)
        except BackendUnavailable as error:
            self.outage.failed(error)
            ended = True  # the citizen still hears it once the bus is back
        if ended:
            await self.publish(
                grant.room,
                {"to": "citizen", "msg": {"type": "ended"}, "close": int(CloseCode.NORMAL),
                 "silent": True},
            )
            await self.meeting.ended(grant.room)
            await self.emit(grant, "ended", "clerk")
        session.silent = True
        session.close(CloseCode.NORMAL)

    # --- leaving -----------------------------------------------------------------------------

    def schedule_teardown(self, session: Session) -> None:
        if session.teardown_task is None:
            session.teardown_task = asyncio.get_running_loop().create_task(
                self._teardown(session), name=f"signaling-teardown-{session.id[:8]}"
            )

    async def teardown(self, session: Session) -> None:
        self.schedule_teardown(session)
        assert session.teardown_task is not None
        # Shielded: the endpoint being cancelled must not leave a ghost in the room.
        await asyncio.shield(session.teardown_task)

    async def _teardown(self, session: Session) -> None:
        session.cancel_hello_timer()
        async with session.lock:  # let a message in progress (e.g. a join) finish first
            session.state = "closed"
            grant = session.grant
            try:
                if grant is not None and session.holder:
                    session.holder = False
                    try:
                        left = await self.store.leave(grant.room, grant.role, session.id)
                    except BackendUnavailable as error:
                        self.outage.failed(error)  # our lease lapses; the peer-left waits
                        left = True
                    if left and not session.silent:
                        await self.meeting.left(grant)
                        await self.emit(grant, "left", grant.role)
                        await self.meeting.tell_guest(grant)
            except Exception:
                log.exception("%r: leaving the room failed", session)
            finally:
                if grant is not None:
                    self._forget(session, grant)
                    if session.subscribed:
                        session.subscribed = False
                        try:
                            await self.bus.leave(grant.room)
                        except Exception:
                            log.exception("%r: unsubscribing failed", session)
                self._sessions.pop(session.id, None)

    def _forget(self, session: Session, grant: Grant) -> None:
        forget(self._rooms, session)

    # --- the bus -----------------------------------------------------------------------------

    async def publish(self, room: str, envelope: Envelope) -> None:
        await self.outage.publish(room, envelope)

    def _tell_joined(self, message: dict[str, Any]) -> None:
        for session in self._sessions.values():
            if session.state == "joined":
                session.deliver(message)

    def _route(self, room: str, envelope: Envelope) -> None:
        """Deliver an envelope from the bus to this instance's matching connection."""
        route(self._sessions, self._rooms, room, envelope)

    # --- helpers -----------------------------------------------------------------------------

    def _ice_for(self, grant: Grant) -> list[dict[str, Any]]:
        if self._ice_servers is None:
            return []
        try:
            return self._ice_servers(grant)
        except Exception:
            # A TURN misconfiguration must not keep people on one network from talking.
            log.exception("building ICE servers failed; sending none")
            return []

    async def emit(self, grant: Grant, event: Event, role: Role) -> None:
        if self._on_event is None:
            return
        try:
            await self._on_event(grant.reference, event, role)
        except Exception:
            log.exception("recording signalling event %s failed", event)

    # --- maintenance -------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Leases, the join window, revoked tokens, the way back from an outage
        (``signaling.upkeep``); the hub runs it every ``Limits.sweep_interval``."""
        await self._upkeep.sweep()

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.limits.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("signalling sweep failed")
