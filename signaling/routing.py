"""Delivering an envelope from the bus to this instance's matching connection (``Hub._route``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from signaling.bus import Envelope
from signaling.errors import CloseCode
from signaling.session import Session

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass
class LocalRoom:
    """This instance's connections in one room; ``by_role`` is who gets envelopes for a role."""

    by_role: dict[str, Session] = field(default_factory=dict)


def forget(rooms: dict[str, LocalRoom], session: Session) -> None:
    """``session`` no longer gets its room's envelopes for its role."""
    grant = session.grant
    assert grant is not None
    local = rooms.get(grant.room)
    if local is None:
        return
    if local.by_role.get(grant.role) is session:
        del local.by_role[grant.role]
    if not local.by_role:
        del rooms[grant.room]


def route(sessions: Mapping[str, Session], rooms: dict[str, LocalRoom], room: str,
          envelope: Envelope) -> None:
    """Deliver ``envelope`` to the connection it names (``conn``) or to the local holder of its
    role (``to``): a message, a relayed frame's text, and/or a close."""
    target: Session | None
    conn = envelope.get("conn")
    if conn is not None:
        # Addressed to one connection: it may still be joining (a racing replacement).
        target = sessions.get(conn)
        if target is None or target.grant is None or target.grant.room != room:
            return
        if target.state not in ("joining", "joined"):
            return
    else:
        local = rooms.get(room)
        target = local.by_role.get(envelope.get("to", "")) if local else None
        if target is None or target.state != "joined":
            return
    raw = envelope.get("raw")
    if isinstance(raw, str) and len(envelope) == 2:  # a relayed frame: "to" and "raw"
        target.deliver(raw)
        return
    message = envelope.get("msg")
    if isinstance(message, dict):
        target.deliver(message)
    if isinstance(raw, str):
        target.deliver(raw)
    if envelope.get("silent"):
        target.silent = True
    code = envelope.get("close")
    if isinstance(code, int):
        if code == CloseCode.REPLACED and target.grant is not None:
            target.silent = True
            forget(rooms, target)
        target.close(code)
