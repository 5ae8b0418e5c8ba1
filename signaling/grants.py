"""What the app tells the hub about a token: the ``Grant``; and the callbacks the app provides.

The signalling package knows nothing about appointments or databases. The app turns a token
into a ``Grant`` (``Authorizer``) and records what happens in a room (``EventSink``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

Role: TypeAlias = Literal["citizen", "clerk", "guest"]
# "guest": a third participant the clerk invites (an interpreter); see ``signaling.meeting``.
ROLES: tuple[Role, Role, Role] = ("citizen", "clerk", "guest")

# Room events reported to the app: "joined", "admitted", "connected", "left", "ended".
Event: TypeAlias = Literal["joined", "admitted", "connected", "left", "ended"]


def other_role(role: Role) -> Role:
    """The counterpart of the two-party call (CONTRACT §4): clerk and citizen each other's; the
    guest's is the clerk, who invited and admits them."""
    return "citizen" if role == "clerk" else "clerk"


@dataclass(frozen=True, slots=True)
class Grant:
    """Who a token lets in, where, and when.

    ``room`` keys the shared room state and the bus channel; ``reference`` is echoed in
    ``welcome`` and in events. The window is half-open: ``opens_at <= now < closes_at``.
    """

    room: str
    role: Role
    reference: str
    opens_at: datetime
    closes_at: datetime

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if not self.room or not self.reference:
            raise ValueError("room and reference must not be empty")
        if self.opens_at.tzinfo is None or self.closes_at.tzinfo is None:
            # Naive datetimes would compare against the server's local zone silently.
            raise ValueError("join window must be timezone-aware")
        if self.closes_at <= self.opens_at:
            raise ValueError("join window closes before it opens")

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


Authorizer: TypeAlias = Callable[[str], Awaitable[Grant | None]]
"""``async def authorize(token) -> Grant | None``; ``None`` closes with 4401."""

EventSink: TypeAlias = Callable[[str, Event, Role], Awaitable[None]]
"""``async def on_event(reference, event, role)``; failures are logged, never break a room."""

IceServers: TypeAlias = Callable[[Grant], list[dict[str, Any]]]
"""Builds the ``ice_servers`` of ``welcome`` for one grant (see ``signaling.turn.IceConfig``)."""
