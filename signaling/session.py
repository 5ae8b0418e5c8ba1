"""One client connection as the hub sees it: an outbox with its own writer, timers, a rate limit.

The transport is behind ``Connection`` (two methods), so tests use in-memory fakes and the app
wraps a Starlette ``WebSocket``. Messages reach the client in order, and a slow or dead client
never blocks the hub, the bus reader or another room — a send that does not finish within
``send_timeout`` closes the connection. When nothing is queued or being sent, a message is sent
at once from the caller (``signaling.eager``: most sends complete without waiting); a send that
has to wait continues in a task of its own while later messages queue for the writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Protocol

from signaling.eager import Resumed, start_eagerly
from signaling.errors import CloseCode
from signaling.grants import Grant, Role
from signaling.protocol import MAX_FRAME_BYTES
from signaling.ratelimit import TokenBucket

log = logging.getLogger(__name__)

State = Literal["new", "joining", "joined", "closing", "closed"]


class Connection(Protocol):
    """The transport: send one JSON message (a ``str`` is one already encoded, sent as it is);
    close with a WebSocket close code."""

    async def send(self, message: dict[str, Any] | str) -> None: ...

    async def close(self, code: int) -> None: ...


class SessionOwner(Protocol):
    """What a session needs of the hub that owns it (``signaling.rooms.Hub``); a protocol so
    that this module does not import the hub, which imports it."""

    async def handle_frame(self, session: Session, frame: str | bytes) -> None: ...

    async def teardown(self, session: Session) -> None: ...

    def schedule_teardown(self, session: Session) -> None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    hello_timeout: float = 5.0  # seconds from attach to the hello frame (else 4408)
    max_frame_bytes: int = MAX_FRAME_BYTES  # larger frames close with 4413
    rate: float = 50.0  # sustained messages per second per connection ...
    burst: int = 100  # ... with this burst (else 4429)
    authorize_timeout: float = 10.0  # a hanging authorizer closes with 1011
    send_timeout: float = 10.0  # a send that takes longer closes the connection (dead peer)
    outbox_size: int = 1024  # queued outgoing messages before the connection is dropped (1013)
    sweep_interval: float = 3.0  # how often the hub refreshes presence leases (store lease 10 s)
    idle_timeout: float | None = None  # close connections silent this long (clients must ping)
    room_grace: timedelta = timedelta(hours=1)  # room state outlives the join window by this
    window_warning: timedelta = timedelta(minutes=5)  # ``window-closing`` this long before
    revalidate_interval: float = 5.0  # how often open connections' tokens are checked again
    recovery_grace: float = 8.0  # after a store outage, lapsed peer leases get this to heal


class Turn:
    """One message of a session at a time, and its teardown after the message in progress:
    an ``asyncio.Lock`` (``async with``) whose uncontended take is also available without a
    coroutine, ``take()``, for the per-frame path. ``release`` hands the turn to the longest
    waiter."""

    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    def take(self) -> bool:
        """Take the turn if free (``True``); else the caller must ``await acquire()``."""
        if self._held:
            return False
        self._held = True
        return True

    async def acquire(self) -> None:
        if not self._held:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # release() handed the turn over: still held, now by us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over, but cancelled before running: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True, slots=True)
class _Close:
    code: int


# Messages after which the peer is no longer in a running call: relay stops until a new start.
_STOPS = frozenset({"peer-left", "peer-reconnected", "ended"})


class Session:
    def __init__(
        self,
        hub: SessionOwner,
        conn: Connection,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.conn = conn
        self.limits = limits
        self.state: State = "new"
        self.grant: Grant | None = None
        self.started = False  # a start was delivered and no stop since: relaying is allowed
        self.holder = False  # the store names this connection as the holder of its role
        self.subscribed = False  # counted in the bus subscription of its room
        self.silent = False  # leave without telling the peer (after end, ended, replace)
        self.token = ""  # the hello token, checked again while the connection lives
        self.admitted = False  # saw the citizen admitted (restored should the store lose it)
        self.admit_pending = False  # the clerk's admit waits for the store to come back
        self.peer_present = False  # was told the peer is there (start, peer-waiting, ...)
        self.links: set[str] = set()  # the guest's pairs running (``signaling.meeting``)
        self.warned = False  # was told the join window closes soon
        self.close_code: int | None = None
        self.lock = Turn()  # one message at a time; teardown waits for it
        self._hub = hub
        self._clock = clock
        self.created = self.last_seen = clock()
        self.bucket = TokenBucket(limits.rate, limits.burst, clock)
        self._outbox: deque[dict[str, Any] | str | _Close] = deque()
        self._on_closed: Callable[[], None] | None = None
        self._writing = False  # a send is under way (the writer's, or one started eagerly)
        self._finishing: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closed = asyncio.Event()
        self._is_closed = False  # _closed is set (read for every message: no method call)
        self.teardown_task: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        self._hello_timer: asyncio.TimerHandle | None = loop.call_later(
            limits.hello_timeout, self._hello_timeout
        )
        self._writer = loop.create_task(self._write(), name=f"signaling-writer-{self.id[:8]}")

    def __repr__(self) -> str:
        room = self.grant.room if self.grant else "-"
        return f"<Session {self.id[:8]} {self.role or '-'}@{room} {self.state}>"

    @property
    def role(self) -> Role | None:
        return self.grant.role if self.grant else None

    @property
    def closed(self) -> bool:
        """The transport is closed (by the server, or it went away)."""
        return self._is_closed

    # --- the endpoint's side ---------------------------------------------------------------

    async def feed(self, frame: str | bytes) -> None:
        """Hand the hub one frame the client sent. Await it before reading the next frame."""
        await self._hub.handle_frame(self, frame)

    async def detach(self) -> None:
        """The transport is gone (or the endpoint is done with it): leave the room."""
        if not self._writer.done():
            self._writer.cancel()
        if self._finishing is not None:
            self._finishing.cancel()
        self._is_closed = True
        self._closed.set()
        await self._hub.teardown(self)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # --- the hub's side --------------------------------------------------------------------

    def on_closed(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once the transport closes from the hub's side (the writer ends)."""
        self._on_closed = callback

    def deliver(self, message: dict[str, Any] | str) -> None:
        """Queue a message for the client: a dict, or a relayed frame's text as it came (offer,
        answer, candidate: never a message that changes the session's own state)."""
        if self.state in ("closing", "closed"):
            return
        if isinstance(message, dict):
            kind = message.get("type")
            if "role" in message:  # about one of the guest's pairs (signaling.meeting)
                self._track_link(kind, message["role"])
            elif kind == "start":
                self.started = self.admitted = self.peer_present = True
            elif kind in _STOPS:
                self.started = False
                self.peer_present = kind == "peer-reconnected"
                if kind == "ended":
                    self.links.clear()
            elif kind == "peer-waiting":
                self.peer_present = True
        if not self._writing and not self._outbox and not self._is_closed:
            self._send_now(message)
            return
        if len(self._outbox) >= self.limits.outbox_size:
            log.warning("%r cannot keep up with its messages; dropping it", self)
            self.close(CloseCode.TRY_AGAIN_LATER, flush=False)
            return
        self._outbox.append(message)
        self._wakeup.set()

    def _track_link(self, kind: Any, role: str) -> None:
        if kind == "peer-joined":
            self.links.add(role)
            if self.role == "guest":
                self.admitted = True  # restored with the guest's claim should the store lose it
        elif kind == "peer-left":
            self.links.discard(role)

    def _send_now(self, message: dict[str, Any] | str) -> None:
        """Send from the caller without waiting; a send that must wait finishes in a task."""
        try:
            rest = start_eagerly(self.conn.send(message))
        except Exception:
            log.debug("%r: send failed", self, exc_info=True)
            self.close(CloseCode.GOING_AWAY, flush=False)
            return
        if rest is not None:
            self._writing = True
            self._finishing = asyncio.get_running_loop().create_task(
                self._finish_send(rest), name=f"signaling-send-{self.id[:8]}"
            )

    async def _finish_send(self, rest: Resumed) -> None:
        try:
            async with asyncio.timeout(self.limits.send_timeout):
                await rest
        except TimeoutError:
            log.info("%r: send timed out; dropping the connection", self)
            self.close(CloseCode.GOING_AWAY, flush=False)
        except Exception:
            log.debug("%r: send failed", self, exc_info=True)
            self.close(CloseCode.GOING_AWAY, flush=False)
        finally:
            self._writing = False
            self._finishing = None
            self._wakeup.set()

    def close(self, code: int, *, flush: bool = True) -> None:
        """Close after the queued messages (``flush``) or at once; protocol codes send an
        ``error`` message first."""
        if self.state in ("closing", "closed"):
            return
        self.state = "closing"
        self.started = False
        self.close_code = code
        self.cancel_hello_timer()
        if not flush:
            self._outbox.clear()
        self._outbox.append(_Close(code))
        self._wakeup.set()

    def cancel_hello_timer(self) -> None:
        if self._hello_timer is not None:
            self._hello_timer.cancel()
            self._hello_timer = None

    def _hello_timeout(self) -> None:
        self._hello_timer = None
        if self.state == "new":
            log.info("%r sent no hello in time", self)
            self.close(CloseCode.HELLO_TIMEOUT)

    async def _write(self) -> None:
        try:
            while True:
                while not self._outbox or self._writing:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                item = self._outbox.popleft()
                if isinstance(item, _Close):
                    await self._close_transport(item.code)
                    return
                self._writing = True
                try:
                    async with asyncio.timeout(self.limits.send_timeout):
                        await self.conn.send(item)
                finally:
                    self._writing = False
        except TimeoutError:
            log.info("%r: send timed out; dropping the connection", self)
            if self.state not in ("closing", "closed"):
                self.state = "closing"
                self.close_code = CloseCode.GOING_AWAY
            await self._close_transport(self.close_code or CloseCode.GOING_AWAY)
        except Exception:  # the transport went away under us; the endpoint detaches
            log.debug("%r: send failed", self, exc_info=True)
        finally:
            self._is_closed = True
            self._closed.set()
            if self._on_closed is not None:
                self._on_closed()
            self._hub.schedule_teardown(self)

    async def _close_transport(self, code: int) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.limits.send_timeout):
                if code >= 4000:
                    await self.conn.send({"type": "error", "code": int(code)})
                await self.conn.close(int(code))
