"""The hub's periodic work (every ``Limits.sweep_interval``): leases, the join window, revoked
tokens, and the way back from a store outage.

- **Presence.** Each local holder's lease is refreshed; a holder the store no longer lists takes
  its role back with the admission it knew of (Redis restarted without persistence), one whose
  role another connection took is closed with 4409. A peer whose lease lapsed (its instance died)
  is announced to the local side as ``peer-left`` — unless an outage just ended, when the peer's
  instance may simply not have refreshed yet.
- **The join window.** ``Limits.window_warning`` before the window closes both sides get
  ``{"type": "window-closing", "closes_at"}``; at its end ``ended`` and the connection closes.
- **Revocation.** Every ``Limits.revalidate_interval`` the open connections' tokens go to the
  app's ``Revalidator`` (one call for all); a token no longer valid (staff deactivated or
  logged out, token expired, appointment cancelled) closes its connection with 4401.
- **Outage.** While the store is away nothing is refreshed; the first sweep that reaches it
  again sends the queued envelopes on, tells the local connections ``restored`` and carries out
  admissions that waited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeAlias

from signaling.errors import BackendUnavailable, CloseCode
from signaling.grants import Event, Grant, Role, other_role
from signaling.outage import Outage
from signaling.session import Limits, Session
from signaling.store import Holding, Presence, RoomStore

log = logging.getLogger(__name__)

Revalidator: TypeAlias = Callable[[Sequence[str]], Awaitable[Sequence[bool]]]
"""``async def still_valid(tokens) -> [bool, ...]``: whether each hello token still admits."""


class Kept(Protocol):
    """What the upkeep needs of the hub (``signaling.rooms.Hub``)."""

    store: RoomStore
    limits: Limits
    outage: Outage
    now: Callable[[], datetime]
    monotonic: Callable[[], float]

    def sessions(self) -> list[Session]: ...

    async def admit(self, session: Session) -> None: ...

    async def emit(self, grant: Grant, event: Event, role: Role) -> None: ...


class Upkeep:
    def __init__(self, hub: Kept, revalidate: Revalidator | None) -> None:
        self.hub = hub
        self._revalidate = revalidate
        self._revalidated_at = hub.monotonic()

    async def sweep(self) -> None:
        hub, limits = self.hub, self.hub.limits
        now = hub.monotonic()
        holders: list[Session] = []
        for session in hub.sessions():
            if session.state == "new" and now - session.created >= limits.hello_timeout:
                session.close(CloseCode.HELLO_TIMEOUT)
            elif session.state != "joined":
                continue
            elif limits.idle_timeout is not None and now - session.last_seen >= limits.idle_timeout:
                session.close(CloseCode.GOING_AWAY)
            elif self._window(session) and session.holder:
                holders.append(session)
        presences = await self._refresh(holders)
        if presences is None:
            return
        for session, presence in zip(holders, presences, strict=True):
            await self._presence(session, presence)
        revalidate = self._revalidate
        if revalidate is not None and now - self._revalidated_at >= limits.revalidate_interval:
            self._revalidated_at = now
            await self._check_tokens(revalidate)

    def _window(self, session: Session) -> bool:
        """Warn before the join window closes, end the call when it has; ``False`` once ended."""
        grant = session.grant
        assert grant is not None  # joined
        now = self.hub.now()
        if now >= grant.closes_at:
            session.deliver({"type": "ended"})
            session.silent = True  # the other side's instance ends it too, at the same time
            session.close(CloseCode.NORMAL)
            return False
        if not session.warned and now >= grant.closes_at - self.hub.limits.window_warning:
            session.warned = True
            session.deliver({"type": "window-closing", "closes_at": grant.closes_at.isoformat()})
        return True

    async def _refresh(self, holders: list[Session]) -> list[Presence] | None:
        """Refresh the leases (and, after an outage, send the backlog on); ``None`` while the
        store is still away."""
        hub = self.hub
        holdings = [
            Holding(s.grant.room, s.grant.role, s.id, s.grant.closes_at + hub.limits.room_grace,
                    s.admitted)
            for s in holders if s.grant is not None
        ]
        try:
            presences = await hub.store.refresh(holdings)
            await hub.outage.send_backlog()
        except BackendUnavailable as error:
            hub.outage.failed(error)
            return None
        if hub.outage.end():
            for session in hub.sessions():
                if session.admit_pending and session.state == "joined":
                    session.admit_pending = False
                    await hub.admit(session)
        return presences

    async def _presence(self, session: Session, presence: Presence) -> None:
        if session.state != "joined" or session.grant is None:
            return
        if presence.held == "lost":
            session.holder = False
            session.silent = True
            session.close(CloseCode.REPLACED)
        elif presence.held == "reclaimed":
            log.info("%r took its role back after the store lost it", session)
        if session.state != "joined" or not self.hub.outage.settled():
            return
        grant = session.grant
        if presence.peer == "expired" and session.peer_present and grant.role != "guest":
            # The peer's instance stopped refreshing its lease: it is gone.
            session.deliver({"type": "peer-left"})
            await self.hub.emit(grant, "left", other_role(grant.role))
        # The guest's pairs (signaling.meeting): the same, with the role named.
        lapsed = {"guest": presence.guest, "citizen": presence.citizen,
                  "clerk": presence.peer if grant.role == "guest" else "absent"}
        for role, seen in lapsed.items():
            if seen == "expired" and role in session.links and role != grant.role:
                session.deliver({"type": "peer-left", "role": role})

    async def _check_tokens(self, revalidate: Revalidator) -> None:
        sessions = [s for s in self.hub.sessions() if s.state == "joined" and s.token]
        if not sessions:
            return
        try:
            valid = await revalidate([s.token for s in sessions])
        except BackendUnavailable:
            return  # the app's database is away (the app logs it): keep the calls
        except Exception:
            log.exception("checking open calls' tokens failed; the calls go on")
            return
        for session, ok in zip(sessions, valid, strict=True):
            if not ok and session.state == "joined":
                log.info("%r: its token is no longer valid", session)
                session.close(CloseCode.UNAUTHORIZED)
