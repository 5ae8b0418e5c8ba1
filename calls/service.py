"""The call's bookkeeping in the database: who may join, clerk call tokens, the event record.

Like the booking services these take a session, raise domain errors and never commit. The
signalling package knows nothing of this; ``app.calls`` wires it to the hub.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.channels import require_call
from booking.links import LinkKeys
from booking.lookup import find_appointment
from booking.models import Appointment, AppointmentStatus
from calls.models import CallEvent, CallToken
from calls.record import note_event
from core.audit import Actor, record
from core.errors import Conflict, WrongState
from core.signing import keyed_hash
from staff.models import StaffSession, StaffUser
from staff.service import staff_actor, visible_office_ids

# Statuses in which the citizen and the clerk may meet in the call.
CALLABLE = frozenset({AppointmentStatus.confirmed.value, AppointmentStatus.in_call.value})
# An open call goes on when its appointment is completed meanwhile (completed during the call).
STILL_ADMITTED = CALLABLE | {AppointmentStatus.completed.value}

# Call tokens carry a prefix: the authorizer tells them from link tokens without a query, and a
# leaked one is recognisable.
CALL_TOKEN_PREFIX = "ct-"  # noqa: S105 (a prefix, not a secret)
MAX_TOKEN_CHARS = 200

# Clerk events that go into the audit trail as well (who let whom in, who ended the call).
CLERK_AUDIT = {"joined": "call.join", "admitted": "call.admit", "ended": "call.end"}


class CallClosed(Conflict):
    code = "call_closed"
    message = "The video call for this appointment is over."


@dataclass(frozen=True)
class JoinWindow:
    opens_at: datetime
    closes_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


def join_window(appointment: Appointment, before_minutes: int, after_minutes: int) -> JoinWindow:
    return JoinWindow(
        opens_at=appointment.start_at - timedelta(minutes=before_minutes),
        closes_at=appointment.end_at + timedelta(minutes=after_minutes),
    )


def call_token_hash(secret_key: bytes, token: str) -> str:
    return keyed_hash(secret_key, "call-token", token)


@dataclass(frozen=True)
class IssuedCallToken:
    token: str = field(repr=False)  # given to the clerk's page once; never stored or logged
    expires_at: datetime


@dataclass(frozen=True)
class StaffRef:
    """The staff user behind a clerk's connection, for the audit trail."""

    id: int
    label: str

    @classmethod
    def of(cls, user: StaffUser) -> StaffRef:
        assert user.id is not None
        return cls(user.id, user.email)

    def actor(self) -> Actor:
        return Actor("staff", self.id, self.label)


# --- clerk access ------------------------------------------------------------------------------


async def issue_call_token(
    session: AsyncSession,
    secret_key: bytes,
    appointment: Appointment,
    user: StaffUser,
    *,
    login: int,
    window: JoinWindow,
    max_lifetime: timedelta,
    now: datetime,
) -> IssuedCallToken:
    """A token for ``user`` to join ``appointment``'s call, valid until the join window closes
    (at most ``max_lifetime``) and while the staff session ``login`` lasts. 409 when the
    appointment cannot be called (any more), and (``not_a_call``) for an on-site or phone
    appointment."""
    require_call(appointment)
    if appointment.status not in CALLABLE:
        raise WrongState()
    if now >= window.closes_at:
        raise CallClosed()
    assert user.id is not None and appointment.id is not None
    # Lapsed tokens of this user go here, rather than in a periodic job.
    await session.execute(
        delete(CallToken).where(col(CallToken.user_id) == user.id, col(CallToken.expires_at) <= now)
    )
    token = CALL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = min(window.closes_at, now + max_lifetime)
    session.add(CallToken(token_hash=call_token_hash(secret_key, token),
                          appointment_id=appointment.id, user_id=user.id,
                          staff_session_id=login, expires_at=expires_at))
    record(session, staff_actor(user), "call.token", "appointment", appointment.id,
           {"reference": appointment.reference})
    await session.flush()
    return IssuedCallToken(token, expires_at)


async def find_call_token(
    session: AsyncSession, secret_key: bytes, token: str, now: datetime
) -> tuple[Appointment, StaffUser] | None:
    """The appointment and the (active) staff user of a valid call token; ``None`` otherwise
    (unknown, expired, its login ended or expired, or the account was deactivated since)."""
    if not token.startswith(CALL_TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    query = (
        select(Appointment, StaffUser)
        .join(CallToken, col(CallToken.appointment_id) == col(Appointment.id))
        .join(StaffUser, col(StaffUser.id) == col(CallToken.user_id))
        .join(StaffSession, col(StaffSession.id) == col(CallToken.staff_session_id))
        .where(
            col(CallToken.token_hash) == call_token_hash(secret_key, token),
            col(CallToken.expires_at) > now,
            col(StaffSession.expires_at) > now,
            col(StaffUser.active).is_(True),
        )
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    appointment, user = row
    return appointment, user


async def tokens_in_force(
    session: AsyncSession, links: LinkKeys, secret_key: bytes, tokens: Sequence[str],
    now: datetime,
) -> list[bool]:
    """For each open call's hello token: does it still admit? Two queries for all the links and
    all the call tokens, plus one office lookup per clerk; the same rules as a fresh ``hello``
    (``find_by_token``, ``find_call_token``, ``may_join_as_clerk``), except that a call whose
    appointment was completed meanwhile goes on (the clerk completes during the call)."""
    by_link = {t: links.hash_token(t) for t in tokens if links.looks_like_token(t)}
    by_call = {t: call_token_hash(secret_key, t) for t in tokens
               if t not in by_link and t.startswith(CALL_TOKEN_PREFIX)
               and len(t) <= MAX_TOKEN_CHARS}
    admitted: set[str] = set()
    if by_link:
        rows = await session.execute(
            select(col(Appointment.token_hash)).where(
                col(Appointment.token_hash).in_(by_link.values()),
                col(Appointment.link_expires_at) > now,
                col(Appointment.status).in_(STILL_ADMITTED)))
        admitted.update(rows.scalars())
    if by_call:
        found = await session.execute(
            select(col(CallToken.token_hash), col(Appointment.office_id), StaffUser)
            .join(Appointment, col(Appointment.id) == col(CallToken.appointment_id))
            .join(StaffUser, col(StaffUser.id) == col(CallToken.user_id))
            .join(StaffSession, col(StaffSession.id) == col(CallToken.staff_session_id))
            .where(col(CallToken.token_hash).in_(by_call.values()),
                   col(CallToken.expires_at) > now, col(StaffSession.expires_at) > now,
                   col(StaffUser.active).is_(True),
                   col(Appointment.status).in_(STILL_ADMITTED)))
        offices: dict[int | None, set[int]] = {}
        for token_hash, office_id, user in found.all():
            if user.id not in offices:
                offices[user.id] = set(await visible_office_ids(session, user))
            if office_id in offices[user.id]:
                admitted.add(token_hash)
    return [by_link.get(t, by_call.get(t)) in admitted for t in tokens]


async def may_join_as_clerk(session: AsyncSession, user: StaffUser, office_id: int) -> bool:
    """Still allowed: the user may have lost the office since the token was issued."""
    return office_id in await visible_office_ids(session, user)


# --- the event record --------------------------------------------------------------------------


async def record_call_event(
    session: AsyncSession,
    reference: str,
    event: str,
    role: str,
    *,
    staff: StaffRef | None,
    now: datetime,
) -> bool:
    """Store one room event; ``connected`` moves a confirmed appointment to ``in_call``.

    Safe to repeat: every event is a row of the record, and the status moves only from
    ``confirmed`` (a conditional update, so racing instances cannot both move it). Returns
    ``False`` for an unknown reference.
    """
    appointment = await find_appointment(session, reference)
    if appointment is None or appointment.id is None:
        return False
    appointment_id = appointment.id
    session.add(CallEvent(appointment_id=appointment_id, event=event, role=role,
                          staff_user_id=staff.id if staff and role == "clerk" else None, at=now))
    await note_event(session, appointment_id, event, role, now)
    detail = {"reference": reference}
    if role == "clerk" and event in CLERK_AUDIT:
        actor = staff.actor() if staff is not None else Actor.system()
        record(session, actor, CLERK_AUDIT[event], "appointment", appointment_id, detail)
    if event == "connected":
        moved = (
            await session.execute(
                update(Appointment)
                .where(
                    col(Appointment.id) == appointment_id,
                    col(Appointment.status) == AppointmentStatus.confirmed.value,
                )
                .values(status=AppointmentStatus.in_call.value, updated_at=now)
                .returning(col(Appointment.id))
            )
        ).scalar_one_or_none()
        if moved is not None:
            record(session, Actor.system(), "appointment.in_call", "appointment", appointment_id,
                   detail)
    await session.flush()
    return True


async def call_events(session: AsyncSession, appointment_id: int) -> list[CallEvent]:
    query = (
        select(CallEvent)
        .where(col(CallEvent.appointment_id) == appointment_id)
        .order_by(col(CallEvent.at), col(CallEvent.id))
    )
    return list((await session.execute(query)).scalars())
