"""Booking a video appointment with the postal address its letters need.

``cases.intake.book`` books the slot and opens the request; a service whose documents are sent
by post (``Service.delivers_by_post``) also needs the citizen's postal address, which lives with
the letters (``postcall.dispatch``). Both happen in the caller's one transaction: a booking
without the address it needs is refused before any slot is taken, and an address that breaks
the rules (``clean_address``) is refused with the booking.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.composition import Composition
from booking.links import LinkKeys
from booking.models import Appointment, Service
from booking.service import Booked, BookingPolicy, CitizenInput
from booking.waitlist import WaitlistWish
from cases import intake
from core.audit import Actor
from core.errors import Invalid
from core.messages import N_
from postcall.dispatch import clean_address, set_postal_address

ADDRESS_NEEDED = N_("Please enter your postal address: the documents are sent by post.")


async def book(
    session: AsyncSession, links: LinkKeys, policy: BookingPolicy, *, service_id: int,
    office_id: int, start: datetime, citizen: CitizenInput, locale: str,
    address: Sequence[str] = (), now: datetime | None = None,
    composition: Composition | None = None, channel: str | None = None,
) -> Booked:
    """Book (``cases.intake.book``) and keep the postal address: required when a service
    delivers by post, kept when given for any other."""
    ids = composition.service_ids if composition is not None else (service_id,)
    lines = await address_for(session, ids, address)
    booked = await intake.book(session, links, policy, service_id=service_id,
                               office_id=office_id, start=start, citizen=citizen,
                               locale=locale, now=now, composition=composition,
                               channel=channel)
    if lines:
        await set_postal_address(session, booked.appointment, lines, Actor.citizen())
    return booked


async def address_for(session: AsyncSession, service_ids: Sequence[int],
                      address: Sequence[str]) -> tuple[str, ...]:
    """The checked lines of ``address`` (blank ones left out); ``Invalid`` on the field
    ``postal_address`` when one of the services delivers by post and none is given."""
    given = [line for line in address if line.strip()]
    if not given:
        by_post = await session.execute(select(col(Service.id)).where(
            col(Service.id).in_(list(service_ids)), col(Service.delivers_by_post).is_(True)))
        if by_post.first() is not None:
            raise Invalid(ADDRESS_NEEDED, field="postal_address")
        return ()
    return _checked(given)


async def keep_wish_address(session: AsyncSession, wish: WaitlistWish,
                            appointment: Appointment) -> None:
    """An offer from the waitlist books with the address the wish was left with."""
    if wish.postal_address:
        await set_postal_address(session, appointment, wish.postal_address.splitlines(),
                                 Actor.citizen())


def _checked(lines: Sequence[str]) -> tuple[str, ...]:
    """``clean_address`` with its problems reported on the booking's field."""
    try:
        return clean_address(lines)
    except Invalid as exc:
        raise Invalid(exc.msgid, field="postal_address", **exc.params) from exc
