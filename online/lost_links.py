"""A lost link: one e-mail with the links of an address's open appointments, requests and
waitlist entries.

Anyone may ask for any address; the answer is the same whether or not it is known, and only the
address's own mailbox receives the links. Addresses match as the booking limit matches them
(case and ``+tag`` ignored: ``booking.service.normalize_email``). Open means: an appointment
reserved (hold not lapsed), confirmed or in the call, whose link has not expired; an online
request not closed (``online.models.CLOSED_STATUSES``); a waitlist entry waiting or offered a
place (``booking.waitlist.OPEN_STATUSES``). The mail job carries only the ids of
what was open (no address sits in the job table); the worker checks each again before it
writes the mail.

Known and unknown addresses take the same path: one read of both tables and one audit event
(without the address) in one write transaction; a known address adds one job row. The audit
event tells how many items were found, not whose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from booking.service import hold_lapsed, normalize_email
from booking.waitlist import OPEN_STATUSES, WaitlistWish
from cases.models import Case
from core.audit import Actor, record
from core.i18n import LANGUAGES
from core.jobs import enqueue
from core.types import utcnow
from online.models import CLOSED_STATUSES, OnlineRequest

LINKS_MAIL_JOB = "mail.links"
EMAIL_MAX = 254


@dataclass(frozen=True)
class OpenItems:
    appointment_ids: list[int]
    request_ids: list[int]  # case ids of online requests
    locale: str  # of the latest booking, request or waitlist entry
    wish_ids: list[int]  # waitlist entries

    def __bool__(self) -> bool:
        return bool(self.appointment_ids or self.request_ids or self.wish_ids)


def appointment_open(appointment: Appointment, now: dt.datetime) -> bool:
    return (appointment.status in ACTIVE_STATUSES and appointment.link_expires_at > now
            and not hold_lapsed(appointment, now))


def request_open(request: OnlineRequest) -> bool:
    return request.status not in CLOSED_STATUSES


def wish_open(wish: WaitlistWish) -> bool:
    return wish.status in OPEN_STATUSES


def address_key(secret_key: bytes, email: str) -> str:
    """What the per-address limit counts under: a keyed hash, so no address sits in the
    limiter's store (Redis)."""
    message = b"link-resend\x00" + normalize_email(email).encode()
    return hmac.new(secret_key, message, hashlib.sha256).hexdigest()[:32]


async def open_items(session: AsyncSession, email: str, now: dt.datetime) -> OpenItems:
    """What is open for the address: two indexed reads of a few columns (the same work for a
    known and an unknown address but for the rows found)."""
    norm = normalize_email(email)
    appointments = (await session.execute(
        select(col(Appointment.id), col(Appointment.locale), col(Appointment.created_at))
        .where(col(Appointment.email_norm) == norm,
               col(Appointment.status).in_([s.value for s in ACTIVE_STATUSES]),
               col(Appointment.link_expires_at) > now,
               or_(col(Appointment.status) != AppointmentStatus.reserved.value,
                   col(Appointment.hold_expires_at).is_(None),
                   col(Appointment.hold_expires_at) > now))
    )).all()
    requests = (await session.execute(
        select(col(OnlineRequest.case_id), col(Case.locale), col(OnlineRequest.submitted_at))
        .join(Case, col(Case.id) == col(OnlineRequest.case_id))
        .where(col(OnlineRequest.email_norm) == norm,
               col(OnlineRequest.status).not_in([s.value for s in CLOSED_STATUSES]))
    )).all()
    wishes = (await session.execute(
        select(col(WaitlistWish.id), col(WaitlistWish.locale), col(WaitlistWish.created_at))
        .where(col(WaitlistWish.email_norm) == norm,
               col(WaitlistWish.status).in_([s.value for s in OPEN_STATUSES]))
    )).all()
    latest = max([*appointments, *requests, *wishes], key=lambda row: row[2], default=None)
    locale = latest[1] if latest is not None and latest[1] in LANGUAGES else "de"
    return OpenItems(appointment_ids=sorted(row[0] for row in appointments if row[0]),
                     request_ids=sorted(row[0] for row in requests), locale=locale,
                     wish_ids=sorted(row[0] for row in wishes if row[0]))


async def resend_links(session: AsyncSession, email: str, *, send: bool = True,
                       now: dt.datetime | None = None) -> None:
    """Queue the mail with the address's open links, if it has any and ``send`` (false: over
    the per-address limit, the same work without the mail); audit either way."""
    now = now or utcnow()
    items = await open_items(session, email, now)
    if items and send:
        enqueue(session, LINKS_MAIL_JOB, {"appointment_ids": items.appointment_ids,
                                          "request_ids": items.request_ids,
                                          "wish_ids": items.wish_ids,
                                          "locale": items.locale})
    record(session, Actor.citizen(), "links.resend", "links", "",
           {"appointments": len(items.appointment_ids), "requests": len(items.request_ids),
            "waitlist": len(items.wish_ids), "limited": not send})

