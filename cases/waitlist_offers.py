"""Offering free places to the waitlist (``booking.waitlist``), and accepting an offer.

A freed place is held for the first fitting wish of its queue (office and service, first come
first served) by booking it the usual way (``cases.intake.book``, without its mails): the seats'
unique keys make sure one place is held once, whatever the number of workers. Matching takes
one offer per transaction:

* The queue is locked first (PostgreSQL: a transaction-level advisory lock on the office and
  service; SQLite: write transactions are serialised anyway). A second worker matching the same
  queue waits, then sees the first one's offer (read committed): two workers never hand the
  same place to two wishes, and a later wish never overtakes an earlier fitting one.
* Then the citizen's address (``booking.service.lock_email``, also taken by the booking): a
  person with several wishes in several queues is offered one place at a time.
* Each transaction takes at most one address lock after its queue lock, so locks are always
  taken in the same order and two matchers cannot deadlock.

The offer lapses at ``now + offer_hours``, never after the slot begins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.availability import Slot, as_utc, free_slots, load_offer
from booking.links import LinkKeys
from booking.models import Appointment
from booking.service import BookingPolicy, CitizenInput, confirm, hold_lapsed, lock_email
from booking.waitlist import (
    NoOffer,
    OfferLapsed,
    WaitlistWish,
    WishStatus,
    fitting,
    lock,
    mail,
    move,
)
from cases import intake
from core.audit import Actor
from core.errors import AlreadyBooked, NotASlot, NotFound, SlotTaken, TooManyBookings
from core.types import utcnow

HOLD_GRACE = timedelta(minutes=10)


# What else an offer's booking needs, in its transaction (the postal address: postcall's).
AfterHold = Callable[[AsyncSession, WaitlistWish, Appointment], Awaitable[None]]


@dataclass(frozen=True)
class OfferRules:
    offer_hours: float = 4.0
    booking: BookingPolicy = field(default_factory=BookingPolicy)
    after_hold: AfterHold | None = None


async def _lock_queue(session: AsyncSession, office_id: int, service_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(office_id, service_id)))


async def queues(session: AsyncSession, office_id: int | None) -> list[tuple[int, int]]:
    """The (office, service) queues with wishes waiting (of one office, or all)."""
    query = (select(col(WaitlistWish.office_id), col(WaitlistWish.service_id))
             .where(col(WaitlistWish.status) == WishStatus.waiting).distinct())
    if office_id is not None:
        query = query.where(col(WaitlistWish.office_id) == office_id)
    return [(int(o), int(s)) for o, s in (await session.execute(query)).all()]


async def _offered_addresses(session: AsyncSession) -> set[str]:
    result = await session.execute(select(col(WaitlistWish.email_norm)).where(
        col(WaitlistWish.status) == WishStatus.offered))
    return set(result.scalars())


async def offer_next(session: AsyncSession, links: LinkKeys, rules: OfferRules, *,
                     office_id: int, service_id: int,
                     now: datetime | None = None) -> WaitlistWish | None:
    """Hold one free place for the first fitting wish of a queue; None when there is none."""
    now = now or utcnow()
    await _lock_queue(session, office_id, service_id)
    waiting = list((await session.execute(
        select(WaitlistWish).where(col(WaitlistWish.office_id) == office_id,
                                   col(WaitlistWish.service_id) == service_id,
                                   col(WaitlistWish.status) == WishStatus.waiting)
        .order_by(col(WaitlistWish.created_at), col(WaitlistWish.id)))).scalars())
    if not waiting:
        return None
    try:
        office, _service, _offered = await load_offer(session, office_id=office_id,
                                                      service_id=service_id)
    except NotFound:
        return None
    days = [w.from_date for wish in waiting for w in wish.window_list()]
    last = [w.to_date for wish in waiting for w in wish.window_list()]
    # Each channel has its own seats (a schedule may serve one channel only): the free places
    # are looked up per channel the waiting wishes ask for, once each.
    by_channel: dict[str, list[Slot]] = {}
    busy = await _offered_addresses(session)
    for wish in waiting:
        if wish.email_norm in busy:
            continue  # one offer at a time per person
        if wish.channel not in by_channel:
            by_channel[wish.channel] = await free_slots(
                session, service_id=service_id, office_id=office_id, start_date=min(days),
                end_date=max(last), now=now, channel=wish.channel)
        fits = fitting(wish, by_channel[wish.channel], office.timezone)
        if fits and await _hold_for(session, links, rules, wish, fits, now):
            return wish
    return None


async def _hold_for(session: AsyncSession, links: LinkKeys, rules: OfferRules,
                    wish: WaitlistWish, fitting: list[Slot], now: datetime) -> bool:
    await lock_email(session, wish.email_norm)
    await lock(session, wish)
    if wish.status != WishStatus.waiting or wish.email_norm in await _offered_addresses(session):
        return False
    citizen = CitizenInput(given_name=wish.given_name, family_name=wish.family_name,
                           email=wish.email, phone=wish.phone)
    for slot in fitting:
        until = min(now + timedelta(hours=rules.offer_hours), as_utc(slot.start))
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        policy = BookingPolicy(
            require_confirmation=True, hold_minutes=minutes,
            max_active_per_email=rules.booking.max_active_per_email,
            link_grace_days=rules.booking.link_grace_days,
            reminder_hours=rules.booking.reminder_hours)
        try:
            async with session.begin_nested():
                booked = await intake.book(
                    session, links, policy, service_id=wish.service_id,
                    office_id=wish.office_id, start=slot.start, citizen=citizen,
                    locale=wish.locale, now=now, announce=False, channel=wish.channel)
        except (SlotTaken, NotASlot):
            continue  # taken meanwhile: the next fitting slot
        except (TooManyBookings, AlreadyBooked):
            return False  # this person cannot hold another appointment now
        appointment = booked.appointment
        if rules.after_hold is not None:
            await rules.after_hold(session, wish, appointment)
        # The seat is held a little past the offer, never past the slot: the sweep, not the
        # hold expiry, ends a lapsed offer, and the citizen gets no mail about a hold they never
        # saw (``booking.waitlist.lapse_offers``).
        appointment.hold_expires_at = min(until + HOLD_GRACE, as_utc(slot.start))
        wish.appointment_id = appointment.id
        wish.offer_expires_at = until
        move(session, wish, WishStatus.offered, now, Actor.system(), "waitlist.offer",
             appointment=appointment.reference)
        await session.flush()
        mail(session, wish, "offer")
        return True
    return False


async def accept(session: AsyncSession, policy: BookingPolicy, wish: WaitlistWish,
                 now: datetime | None = None) -> Appointment:
    """The citizen takes the offered place: the held appointment is confirmed (with its own
    link and calendar mail, as every confirmed appointment)."""
    now = now or utcnow()
    await lock(session, wish)
    if wish.status == WishStatus.booked and wish.appointment_id is not None:
        booked = await session.get(Appointment, wish.appointment_id)
        if booked is not None:
            return booked  # accepting twice is a no-op
    if wish.status != WishStatus.offered or wish.appointment_id is None:
        raise NoOffer()
    appointment = await session.get(Appointment, wish.appointment_id)
    lapsed = (wish.offer_expires_at is not None and wish.offer_expires_at <= now)
    if appointment is None or lapsed or hold_lapsed(appointment, now):
        raise OfferLapsed()
    await confirm(session, policy, appointment, now)
    move(session, wish, WishStatus.booked, now, Actor.citizen(), "waitlist.accept",
         appointment=appointment.reference)
    await session.flush()
    return appointment
