"""The clerk's message to those waiting: whom it reaches and the audit entry.

A message goes to one appointment (checked against the clerk's offices) or to every appointment
of the clerk's offices whose video room is open now (those waiting, and those about to come:
they see it on arriving). The audit entry says who wrote to whom and how long the message
was, never its text: the text lives only in the room state (``signaling.waitroom``) for the
room's lifetime. Takes a session, never commits; the sending is the caller's (after commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from booking.agenda import day_agenda
from booking.models import Appointment
from calls.service import CALLABLE, join_window
from core.audit import record
from core.errors import Invalid
from staff.models import StaffUser
from staff.service import appointment_for_staff, staff_actor, visible_office_ids

MAX_CHARS = 500


class MessageEmpty(Invalid):
    code = "waiting_message_empty"
    message = "Please write a message for those waiting."


class MessageTooLong(Invalid):
    code = "waiting_message_too_long"
    message = "The message is too long (at most 500 characters)."


class NobodyToTell(Invalid):
    status = 409
    code = "waiting_room_closed"
    message = "The video room of this appointment is not open now."


@dataclass(frozen=True)
class Recipient:
    reference: str  # the room
    keep_until: datetime  # the room's join window end: the message lives as long


def clean_text(text: str) -> str:
    """The message as it is shown: spaces squeezed; empty or too long is refused."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise MessageEmpty()
    if len(cleaned) > MAX_CHARS:
        raise MessageTooLong()
    return cleaned


def _open(appointment: Appointment, now: datetime, before: int, after: int) -> bool:
    window = join_window(appointment, before, after)
    return appointment.status in CALLABLE and window.opens_at <= now < window.closes_at


async def recipients(
    session: AsyncSession, user: StaffUser, reference: str | None, text: str, *,
    now: datetime, before_minutes: int, after_minutes: int, grace: timedelta,
) -> list[Recipient]:
    """Whom the message reaches (``reference`` one appointment, ``None`` all of the user's open
    rooms), with the audit entry for each."""
    if reference is not None:
        appointments: Sequence[Appointment] = [
            await appointment_for_staff(session, user, reference)]
        if not _open(appointments[0], now, before_minutes, after_minutes):
            raise NobodyToTell()
    else:
        office_ids = await visible_office_ids(session, user)
        appointments = [i.appointment for i in await day_agenda(session, office_ids, None, now)
                        if _open(i.appointment, now, before_minutes, after_minutes)]
    actor = staff_actor(user)
    out = []
    for appointment in appointments:
        record(session, actor, "call.waiting_message", "appointment", appointment.id,
               {"characters": len(text), "to_all": reference is None})
        closes = join_window(appointment, before_minutes, after_minutes).closes_at
        out.append(Recipient(appointment.reference, closes + grace))
    return out
