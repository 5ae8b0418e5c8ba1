"""Who may join a call: the signalling hub's authorizer and event sink over our database.

The hub (``signaling.Hub``) knows nothing about appointments. Here a ``hello`` token becomes a
``Grant``: a citizen's link token for a confirmed (or running) appointment, or a clerk's call
token from ``POST /api/v1/clerk/appointments/{reference}/call-token``. The room is the
appointment's reference; the join window opens ``join_before_minutes`` before the start and
closes ``join_after_minutes`` after the end. Unknown, expired or revoked tokens close with 4401;
a valid token for an appointment that cannot be called (reserved, cancelled, completed, another
office) closes with 4403 — the same code as outside the window, so nothing helps guessing.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from booking.channels import is_call
from booking.links import LinkKeys
from booking.models import Appointment
from booking.service import find_by_token
from calls.guests import HELLO_PREFIX, find_guest_hello, guests_in_force
from calls.service import (
    CALLABLE,
    StaffRef,
    find_call_token,
    join_window,
    may_join_as_clerk,
    record_call_event,
    tokens_in_force,
)
from core.errors import Unauthorized
from core.outage import OutageLog
from core.transactions import Transactions
from core.types import utcnow
from signaling import CloseCode, Event, Grant, ProtocolError, Role
from signaling.errors import BackendUnavailable

log = logging.getLogger("buergerbuero.calls")

# How many rooms' clerks an instance remembers for the audit trail (the newest win).
_CLERK_MEMORY = 4096


class CallGate:
    """The hub's authorizer and event sink, over the database."""

    def __init__(
        self, db: Transactions, links: LinkKeys, secret_key: bytes, *,
        join_before_minutes: int, join_after_minutes: int,
        count: Callable[[str, Event, Role], None] | None = None,
    ) -> None:
        self.db, self.links, self.secret_key = db, links, secret_key
        self.join_before_minutes = join_before_minutes
        self.join_after_minutes = join_after_minutes
        self.count = count  # e.g. metrics, told of every event
        # The clerk's staff user per room, for the audit trail: the hub reports events by
        # reference and role only. Events of the clerk's connection are reported by the
        # instance that holds it, which is the one that authorized it.
        self._clerks: OrderedDict[str, StaffRef] = OrderedDict()
        self._outages = OutageLog(log)

    @asynccontextmanager
    async def _reading(self, what: str, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A transaction; a database outage becomes the hub's ``BackendUnavailable`` (a new
        connection gets 1013, open calls go on), logged once per outage."""
        try:
            async with self.db.transaction(write=write) as session:
                yield session
        except Exception as exc:
            if not self._outages.record(exc, what):
                raise
            raise BackendUnavailable(what) from exc
        self._outages.succeeded()

    async def authorize(self, token: str) -> Grant | None:
        """``None`` (4401) for a token we do not know; ``ProtocolError(4403)`` for a valid token
        that may not join (now); a ``Grant`` otherwise (the hub checks the window)."""
        if token.startswith(HELLO_PREFIX):
            return await self._guest(token)
        async with self._reading("a call's hello") as session:
            found = await self._lookup(session, token, utcnow())
        if found is None:
            return None
        appointment, staff = found
        if staff is False:
            raise ProtocolError(CloseCode.FORBIDDEN, "not one of the clerk's offices")
        if appointment.status not in CALLABLE:
            raise ProtocolError(CloseCode.FORBIDDEN, f"appointment is {appointment.status}")
        if not is_call(appointment):
            raise ProtocolError(CloseCode.FORBIDDEN, f"appointment is {appointment.channel}")
        window = join_window(appointment, self.join_before_minutes, self.join_after_minutes)
        role: Role = "citizen"
        if staff is not None:
            self._remember(appointment.reference, staff)
            role = "clerk"
        return Grant(room=appointment.reference, role=role, reference=appointment.reference,
                     opens_at=window.opens_at, closes_at=window.closes_at)

    async def _guest(self, token: str) -> Grant | None:
        """A guest's hello (``calls.guests``): the bound browser's, for a call that can run."""
        async with self._reading("a guest's hello") as session:
            appointment = await find_guest_hello(session, self.secret_key, token, utcnow())
        if appointment is None:
            return None
        if appointment.status not in CALLABLE or not is_call(appointment):
            raise ProtocolError(CloseCode.FORBIDDEN, f"appointment is {appointment.status}")
        window = join_window(appointment, self.join_before_minutes, self.join_after_minutes)
        return Grant(room=appointment.reference, role="guest", reference=appointment.reference,
                     opens_at=window.opens_at, closes_at=window.closes_at)

    async def still_valid(self, tokens: Sequence[str]) -> list[bool]:
        """Whether each open call's hello token still admits. The hub asks every few seconds
        and closes (4401) the calls whose token was revoked: the clerk deactivated, logged out,
        or no longer in the office; the token or the login expired; the appointment cancelled
        or marked missed."""
        guests = [t for t in tokens if t.startswith(HELLO_PREFIX)]
        others = [t for t in tokens if not t.startswith(HELLO_PREFIX)]
        async with self._reading("checking open calls' tokens") as session:
            now = utcnow()
            valid = dict(zip(others, await tokens_in_force(
                session, self.links, self.secret_key, others, now), strict=True))
            if guests:
                valid.update(zip(guests, await guests_in_force(
                    session, self.secret_key, guests, now), strict=True))
        return [valid[t] for t in tokens]

    async def _lookup(self, session: AsyncSession, token: str, now: datetime
                      ) -> tuple[Appointment, StaffRef | Literal[False] | None] | None:
        """The appointment of a token and who holds it: ``None`` for a citizen's link, the
        clerk, or ``False`` for a clerk no longer in the appointment's office; ``None`` for a
        token we do not know (or no longer honour)."""
        # A link token is exactly 43 URL-safe characters (and may start with anything); a
        # call token is longer, with its prefix.
        if self.links.looks_like_token(token):
            try:
                return await find_by_token(session, self.links, token, now), None
            except Unauthorized:
                return None
        found = await find_call_token(session, self.secret_key, token, now)
        if found is None:
            return None
        appointment, user = found
        if not await may_join_as_clerk(session, user, appointment.office_id):
            return appointment, False
        return appointment, StaffRef.of(user)

    async def on_event(self, reference: str, event: Event, role: Role) -> None:
        if self.count is not None:
            self.count(reference, event, role)
        staff = self._clerks.get(reference) if role == "clerk" else None
        try:
            async with self._reading("recording a call event", write=True) as session:
                known = await record_call_event(session, reference, event, role, staff=staff,
                                                now=utcnow())
        except BackendUnavailable:
            return  # the call goes on; the event is lost with the outage (logged once)
        if not known:
            log.warning("call event %s for an unknown appointment", event)

    def _remember(self, reference: str, staff: StaffRef) -> None:
        self._clerks[reference] = staff
        self._clerks.move_to_end(reference)
        while len(self._clerks) > _CLERK_MEMORY:
            self._clerks.popitem(last=False)
