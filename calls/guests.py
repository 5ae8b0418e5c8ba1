"""Guest links: a third participant (an interpreter or sign-language interpreter) in one call.

The clerk issues a link ``/g/{token}`` for one appointment. The link works only for this call,
in its join window, until the clerk revokes it, and for one browser: the first use binds it
(the browser keeps a secret in a cookie, we keep its keyed hash), a second device is refused.
The guest page then gets a ``hello`` token for the signalling (``gt-{token}.{secret}``), checked
on every ``hello`` and again while the call runs (revoking ends the guest's connection).

Like the other services these take a session, raise domain errors and never commit.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.channels import require_call
from booking.models import Appointment
from calls.models import GuestLink
from calls.service import CALLABLE, STILL_ADMITTED, CallClosed, JoinWindow
from core.audit import Actor, record
from core.errors import Conflict, DomainError, Invalid, NotFound, WrongState
from core.signing import keyed_hash
from staff.models import StaffUser
from staff.service import staff_actor

GUEST_KINDS = ("interpreter", "sign_language")
HELLO_PREFIX = "gt-"
TOKEN_CHARS = 43  # secrets.token_urlsafe(32)
MAX_NAME_CHARS = 100


class GuestLinkUnknown(NotFound):
    code = "guest_link_unknown"
    message = "This guest link is not valid. Please ask the office for a new link."


class GuestLinkGone(DomainError):
    status = 410
    code = "guest_link_gone"
    message = "This guest link has been withdrawn by the office. Please ask for a new link."


class GuestLinkExpired(GuestLinkGone):
    code = "guest_link_expired"
    message = "The video call this guest link was for is over."


class GuestLinkInUse(Conflict):
    code = "guest_link_in_use"
    message = ("This guest link is already in use on another device. It works on one device "
               "only: please open it there, or ask the office for a new link.")


def guest_token_hash(secret_key: bytes, token: str) -> str:
    return keyed_hash(secret_key, "guest-link", token)


def device_hash(secret_key: bytes, secret: str) -> str:
    return keyed_hash(secret_key, "guest-device", secret)


def looks_like_token(token: str) -> bool:
    return len(token) == TOKEN_CHARS and all(c.isalnum() or c in "-_" for c in token)


@dataclass(frozen=True)
class IssuedGuestLink:
    token: str = field(repr=False)  # shown to the clerk once; never stored or logged
    link: GuestLink


def clean_guest(kind: str, name: str) -> tuple[str, str]:
    """The kind and name the clerk typed, checked (422 otherwise)."""
    name = " ".join(name.split())
    if kind not in GUEST_KINDS:
        raise Invalid("Please choose the kind of interpreter.", field="kind")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid("The name is too long (at most %(n)s characters).", field="name",
                      n=MAX_NAME_CHARS)
    return kind, name


async def issue_guest_link(
    session: AsyncSession, secret_key: bytes, appointment: Appointment, user: StaffUser, *,
    kind: str, name: str, window: JoinWindow, now: datetime,
) -> IssuedGuestLink:
    """A new guest link for ``appointment``'s call; an earlier one still in force is revoked
    (one guest per call). 409 when the appointment cannot be called (any more) or is no call."""
    kind, name = clean_guest(kind, name)
    require_call(appointment)  # on site or by phone: there is no call to join
    if appointment.status not in CALLABLE:
        raise WrongState()
    if now >= window.closes_at:
        raise CallClosed()
    assert appointment.id is not None
    await _revoke(session, appointment.id, now)
    token = secrets.token_urlsafe(32)
    link = GuestLink(token_hash=guest_token_hash(secret_key, token),
                     appointment_id=appointment.id, kind=kind, name=name,
                     created_by=user.id, expires_at=window.closes_at, created_at=now)
    session.add(link)
    record(session, staff_actor(user), "call.guest_invite", "appointment", appointment.id,
           {"reference": appointment.reference, "kind": kind})
    await session.flush()
    return IssuedGuestLink(token, link)


async def _revoke(session: AsyncSession, appointment_id: int, now: datetime) -> int:
    result = await session.execute(
        update(GuestLink)
        .where(col(GuestLink.appointment_id) == appointment_id,
               col(GuestLink.revoked_at).is_(None), col(GuestLink.expires_at) > now)
        .values(revoked_at=now)
        .returning(col(GuestLink.id)))
    return len(result.all())


async def revoke_guest_links(session: AsyncSession, appointment: Appointment, user: StaffUser,
                             now: datetime) -> int:
    """Withdraw the appointment's guest link (a guest in the call is disconnected within a few
    seconds); how many were in force."""
    assert appointment.id is not None
    count = await _revoke(session, appointment.id, now)
    if count:
        record(session, staff_actor(user), "call.guest_revoke", "appointment", appointment.id,
               {"reference": appointment.reference})
    return count


async def current_guest_link(session: AsyncSession, appointment_id: int, now: datetime
                             ) -> GuestLink | None:
    """The appointment's guest link in force, if any (the clerk's page shows its kind)."""
    query = (select(GuestLink)
             .where(col(GuestLink.appointment_id) == appointment_id,
                    col(GuestLink.revoked_at).is_(None), col(GuestLink.expires_at) > now)
             .order_by(col(GuestLink.id).desc()).limit(1))
    return (await session.execute(query)).scalars().first()


async def open_guest_link(session: AsyncSession, secret_key: bytes, token: str, now: datetime
                          ) -> tuple[GuestLink, Appointment]:
    """The link and its appointment: 404 unknown, 410 revoked or over."""
    if not looks_like_token(token):
        raise GuestLinkUnknown()
    row = (await session.execute(
        select(GuestLink, Appointment)
        .join(Appointment, col(Appointment.id) == col(GuestLink.appointment_id))
        .where(col(GuestLink.token_hash) == guest_token_hash(secret_key, token)))).first()
    if row is None:
        raise GuestLinkUnknown()
    link, appointment = row
    if link.revoked_at is not None:
        raise GuestLinkGone()
    if link.expires_at <= now or appointment.status not in STILL_ADMITTED:
        raise GuestLinkExpired()
    return link, appointment


async def bind_device(session: AsyncSession, secret_key: bytes, link: GuestLink,
                      secret: str | None, now: datetime) -> str:
    """The device secret of the browser this link belongs to: a new one on first use (the link
    is bound now), the browser's own on its next visits; 409 for any other browser."""
    if link.device_hash is None:
        fresh = secrets.token_urlsafe(32)
        # Conditional: two browsers racing for the first use cannot both win.
        won = (await session.execute(
            update(GuestLink)
            .where(col(GuestLink.id) == link.id, col(GuestLink.device_hash).is_(None))
            .values(device_hash=device_hash(secret_key, fresh), bound_at=now)
            .returning(col(GuestLink.id)))).first()
        if won is None:
            raise GuestLinkInUse()
        record(session, Actor.system(), "call.guest_bound", "appointment", link.appointment_id, {})
        return fresh
    if secret and hmac.compare_digest(link.device_hash, device_hash(secret_key, secret)):
        return secret
    raise GuestLinkInUse()


def hello_token(token: str, secret: str) -> str:
    """What the guest page sends in ``hello`` (inside the WebSocket only)."""
    return f"{HELLO_PREFIX}{token}.{secret}"


def split_hello(hello: str) -> tuple[str, str] | None:
    if not hello.startswith(HELLO_PREFIX) or len(hello) > 200:
        return None
    token, _, secret = hello[len(HELLO_PREFIX):].partition(".")
    if not looks_like_token(token) or not secret:
        return None
    return token, secret


async def find_guest_hello(session: AsyncSession, secret_key: bytes, hello: str, now: datetime
                           ) -> Appointment | None:
    """The appointment a guest's ``hello`` token opens; ``None`` when it opens nothing (unknown,
    revoked, over, or not the bound browser's)."""
    parts = split_hello(hello)
    if parts is None:
        return None
    try:
        link, appointment = await open_guest_link(session, secret_key, parts[0], now)
    except DomainError:
        return None
    if link.device_hash is None or not hmac.compare_digest(
            link.device_hash, device_hash(secret_key, parts[1])):
        return None
    return appointment


async def guests_in_force(session: AsyncSession, secret_key: bytes, hellos: Sequence[str],
                          now: datetime) -> list[bool]:
    """For each open guest connection's ``hello`` token: does it still admit?"""
    return [await find_guest_hello(session, secret_key, h, now) is not None for h in hellos]
