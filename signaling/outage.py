"""Riding out an outage of the room store and the bus (Redis) without ending a call.

While Redis is away the hub keeps every running connection: media flows peer to peer and needs
no server. What the hub must tell other instances meanwhile (a relayed candidate, ``peer-left``,
``ended``) waits here, in order and bounded, and goes out once Redis answers again; a new
connection is asked to try again later (1013). One log line when the outage starts, one when it
ends: a burst of failures is one event, not a traceback each.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from signaling.bus import Bus, Envelope
from signaling.errors import BackendUnavailable

log = logging.getLogger(__name__)

# Envelopes kept during an outage; beyond this the oldest go (clients heal by reconnecting).
BACKLOG_SIZE = 2048

INTERRUPTED = {"type": "interrupted"}  # the office's side lost its store; the call goes on
RESTORED = {"type": "restored"}


class Outage:
    """Whether Redis is away, since when, and what waits for its return."""

    def __init__(
        self, bus: Bus, monotonic: Callable[[], float], recovery_grace: float,
        tell: Callable[[dict[str, Any]], None],
    ) -> None:
        self._bus = bus
        self._tell = tell  # deliver a message to every joined local connection
        self._monotonic = monotonic
        self.recovery_grace = recovery_grace
        self.since: float | None = None
        self.backlog: deque[tuple[str, Envelope]] = deque(maxlen=BACKLOG_SIZE)
        self.dropped = 0
        # Until then a lapsed peer lease may just be one the peer's instance had no chance to
        # refresh during the outage: no peer-left for it.
        self.settled_at = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    async def publish(self, room: str, envelope: Envelope) -> None:
        """Publish, or keep the envelope for the bus' return (in order behind the others)."""
        if self.since is None:
            try:
                await self._bus.publish(room, envelope)
                return
            except BackendUnavailable as error:
                self.failed(error)
        self.queue(room, envelope)

    async def send_backlog(self) -> None:
        """Publish what waited, oldest first; raises ``BackendUnavailable`` while still away."""
        while self.backlog:
            room, envelope = self.backlog[0]
            await self._bus.publish(room, envelope)
            self.backlog.popleft()

    def failed(self, error: BackendUnavailable) -> None:
        """The store or the bus failed: an outage starts (once), the connections are told."""
        if self.begin(error):
            self._tell(INTERRUPTED)

    def begin(self, error: BaseException) -> bool:
        """Note a failure; ``True`` when it starts an outage (the caller tells its clients)."""
        if self.since is not None:
            return False
        self.since = self._monotonic()
        log.warning("the signalling store is unreachable (%s): calls go on, new connections "
                    "are asked to try again", error)
        return True

    def queue(self, room: str, envelope: Envelope) -> None:
        if len(self.backlog) == self.backlog.maxlen:
            self.dropped += 1
        self.backlog.append((room, envelope))

    def end(self) -> bool:
        """Note a success; ``True`` when it ends an outage (the connections are told)."""
        if self.since is None:
            return False
        now = self._monotonic()
        log.warning("the signalling store answers again after %.1f s; %d messages sent on, "
                    "%d dropped", now - self.since, len(self.backlog), self.dropped)
        self.since = None
        self.dropped = 0
        self.settled_at = now + self.recovery_grace
        self._tell(RESTORED)
        return True

    def settled(self) -> bool:
        """No outage now or lately: a lapsed lease means the peer is gone."""
        return self.since is None and self._monotonic() >= self.settled_at
