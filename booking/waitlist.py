"""The waitlist: a citizen's wish for a slot of a service at an office, within time windows.

A wish waits in its queue (one queue per office and service, first come first served by
``created_at``). When a fitting slot becomes free it is held for the first fitting wish as a
``reserved`` appointment whose hold lapses with the offer (``cases.waitlist_offers`` books it
through the usual booking path, so the seats' unique keys decide who gets the place). The
citizen accepts (the appointment is confirmed) or declines through the wish's link; an offer
left unanswered lapses. Declined and lapsed slots are remembered on the wish (``passed``) so
that the same slot is not offered to it twice.

This module holds the table, the windows and what needs no request (``cases``): releasing an
offer's hold, withdrawing a wish, the queue lengths. Services take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, Text, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from booking import channels, seats
from booking.availability import Slot, as_utc, load_offer, local_date, office_today, zone
from booking.links import LinkKeys
from booking.models import Appointment, AppointmentStatus
from booking.service import CitizenInput, lock_email, new_reference, normalize_email
from core.audit import Actor, record
from core.errors import Conflict, Invalid, Unauthorized, WrongState
from core.jobs import enqueue
from core.messages import N_
from core.tenancy import OwnedThroughOffice
from core.types import UTCDateTime, utcnow

MATCH_JOB = "waitlist.match"
MAIL_JOB = "mail.waitlist"
CHANNELS = ("video", "onsite", "phone")
MAX_WINDOWS = 10


class WishStatus(StrEnum):
    waiting = "waiting"
    offered = "offered"  # a slot is held for it until ``offer_expires_at``
    booked = "booked"  # the offer was accepted: ``appointment_id`` is the appointment
    cancelled = "cancelled"  # withdrawn by the citizen
    expired = "expired"  # every window has passed


OPEN_STATUSES = (WishStatus.waiting, WishStatus.offered)


class OfferLapsed(Conflict):
    code = "offer_lapsed"
    message = N_("This offer has lapsed. You stay on the waitlist.")


class NoOffer(Conflict):
    code = "no_offer"
    message = N_("There is no open offer for this waitlist entry.")


class TooManyWishes(Conflict):
    code = "too_many_wishes"
    message = N_("This e-mail address already has the most waitlist entries allowed.")


class WaitlistWish(SQLModel, OwnedThroughOffice, table=True):
    __tablename__ = "waitlist_wish"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    office_id: int = Field(
        sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False)
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), nullable=False)
    )
    channel: str = Field(default="video", max_length=10)
    windows: str = Field(sa_type=Text)  # JSON list, see ``Window``
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    email_norm: str = Field(max_length=254, index=True)
    phone: str = Field(default="", max_length=50)
    # Lines of the postal address for a service that delivers by post (migration 0014).
    postal_address: str = Field(default="", sa_type=Text)
    locale: str = Field(default="de", max_length=16)
    status: str = Field(default=WishStatus.waiting, max_length=20, index=True)
    link_nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    link_expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    # The appointment held for the current offer, or the booked one.
    appointment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("appointment.id", ondelete="SET NULL"),
                         nullable=True),
    )
    offer_expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    passed: str = Field(default="[]", sa_type=Text)  # starts (ISO, UTC) declined or lapsed
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def window_list(self) -> list[Window]:
        return [Window.from_json(item) for item in json.loads(self.windows)]

    def passed_starts(self) -> set[dt.datetime]:
        return {dt.datetime.fromisoformat(item) for item in json.loads(self.passed)}


@dataclass(frozen=True)
class Window:
    """Dates (inclusive), optionally some weekdays (Monday = 0) and a time of day range, in the
    office's wall-clock time. A slot fits when it starts and ends within it."""

    from_date: dt.date
    to_date: dt.date
    weekdays: tuple[int, ...] = ()
    from_time: dt.time | None = None
    to_time: dt.time | None = None

    def fits(self, start: dt.datetime, end: dt.datetime, timezone: str) -> bool:
        tz = zone(timezone)
        day = local_date(start, tz)
        if not self.from_date <= day <= self.to_date:
            return False
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        local_start = as_utc(start).astimezone(tz).time()
        local_end = as_utc(end).astimezone(tz)
        if self.from_time is not None and local_start < self.from_time:
            return False
        if self.to_time is not None:
            ends_next_day = local_date(end, tz) > day
            if ends_next_day or local_end.time() > self.to_time:
                return False
        return True

    def as_json(self) -> dict[str, object]:
        return {
            "from_date": self.from_date.isoformat(), "to_date": self.to_date.isoformat(),
            "weekdays": list(self.weekdays),
            "from_time": self.from_time.strftime("%H:%M") if self.from_time else None,
            "to_time": self.to_time.strftime("%H:%M") if self.to_time else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Window:
        def time_of(value: object) -> dt.time | None:
            return dt.time.fromisoformat(str(value)) if value else None

        weekdays = data.get("weekdays") or []
        assert isinstance(weekdays, list)
        return cls(
            from_date=dt.date.fromisoformat(str(data["from_date"])),
            to_date=dt.date.fromisoformat(str(data["to_date"])),
            weekdays=tuple(int(d) for d in weekdays),
            from_time=time_of(data.get("from_time")), to_time=time_of(data.get("to_time")),
        )


def windows_json(windows: Sequence[Window]) -> str:
    return json.dumps([w.as_json() for w in windows], sort_keys=True)


def fitting(wish: WaitlistWish, slots: Sequence[Slot], timezone: str) -> list[Slot]:
    """The slots (earliest first) that fit one of the wish's windows and were not passed on."""
    windows, passed = wish.window_list(), wish.passed_starts()
    return [s for s in slots if as_utc(s.start) not in passed
            and any(w.fits(s.start, s.end, timezone) for w in windows)]


def pass_on(wish: WaitlistWish, start: dt.datetime) -> None:
    """Remember that this slot was offered to the wish and not taken."""
    starts = sorted({*json.loads(wish.passed), as_utc(start).isoformat()})
    wish.passed = json.dumps(starts)


def move(session: AsyncSession, wish: WaitlistWish, status: WishStatus, now: dt.datetime,
         actor: Actor, action: str, **detail: object) -> None:
    """A wish's new status (an offer's end leaves with any status but ``offered``), audited."""
    wish.status = status
    if status != WishStatus.offered:
        wish.offer_expires_at = None
    wish.updated_at = now
    record(session, actor, action, "waitlist_wish", wish.id,
           {"reference": wish.reference, **detail})


async def find_wish(session: AsyncSession, links: LinkKeys, token: str,
                    now: dt.datetime | None = None) -> WaitlistWish | None:
    """The wish of a link token; None when the token is not a wish's (maybe an appointment's)."""
    if not links.looks_like_token(token):
        return None
    result = await session.execute(
        select(WaitlistWish).where(col(WaitlistWish.token_hash) == links.hash_token(token)))
    wish = result.scalar_one_or_none()
    if wish is not None and wish.link_expires_at <= (now or utcnow()):
        raise Unauthorized()
    return wish


def schedule_matching(session: AsyncSession, office_id: int | None,
                      run_after: dt.datetime | None = None) -> None:
    """Ask a worker to offer free places of this office (None: every office) to its queues."""
    enqueue(session, MATCH_JOB, {"office_id": office_id}, run_after=run_after)


def mail(session: AsyncSession, wish: WaitlistWish, template: str) -> None:
    enqueue(session, MAIL_JOB, {"wish_id": wish.id, "template": template})


async def release_offer(session: AsyncSession, wish: WaitlistWish, now: dt.datetime, *,
                        status: AppointmentStatus) -> None:
    """Free the place held for the wish's offer (no mail about the hold: the citizen only ever
    saw the offer) and put the wish back in its queue, that slot passed on."""
    appointment = (await session.get(Appointment, wish.appointment_id, with_for_update=True)
                   if wish.appointment_id is not None else None)
    if appointment is not None:
        if appointment.status == AppointmentStatus.reserved:
            assert appointment.id is not None
            await seats.release(session, [appointment.id])
            appointment.status = status
            appointment.cancelled_at = now if status == AppointmentStatus.cancelled else None
            appointment.updated_at = now
            record(session, Actor.system(), "waitlist.release", "appointment", appointment.id,
                   {"reference": appointment.reference})
        pass_on(wish, appointment.start_at)
    wish.status = WishStatus.waiting
    wish.appointment_id = None
    wish.offer_expires_at = None
    wish.updated_at = now
    schedule_matching(session, wish.office_id)


async def lock(session: AsyncSession, wish: WaitlistWish) -> None:
    await session.refresh(wish, with_for_update=True)


async def decline(session: AsyncSession, wish: WaitlistWish,
                  now: dt.datetime | None = None) -> WaitlistWish:
    """The citizen does not want the offered slot: it goes to the next in the queue."""
    now = now or utcnow()
    await lock(session, wish)
    if wish.status != WishStatus.offered:
        raise NoOffer()
    await release_offer(session, wish, now, status=AppointmentStatus.cancelled)
    record(session, Actor.citizen(), "waitlist.decline", "waitlist_wish", wish.id,
           {"reference": wish.reference})
    await session.flush()
    return wish


async def withdraw(session: AsyncSession, wish: WaitlistWish,
                   now: dt.datetime | None = None) -> WaitlistWish:
    """The citizen leaves the waitlist (an open offer is given up as well)."""
    now = now or utcnow()
    await lock(session, wish)
    if wish.status not in OPEN_STATUSES:
        raise WrongState()
    if wish.status == WishStatus.offered:
        await release_offer(session, wish, now, status=AppointmentStatus.cancelled)
    move(session, wish, WishStatus.cancelled, now, Actor.citizen(), "waitlist.withdraw")
    await session.flush()
    return wish


async def lapse_offers(session: AsyncSession, now: dt.datetime | None = None,
                       limit: int = 100) -> int:
    """Offers past their time go back (the place to the next wish); wishes whose windows have
    all passed end. Rows another worker handles right now are skipped."""
    now = now or utcnow()
    result = await session.execute(
        select(WaitlistWish)
        .where(col(WaitlistWish.status) == WishStatus.offered,
               col(WaitlistWish.offer_expires_at) <= now)
        .order_by(col(WaitlistWish.id)).limit(limit).with_for_update(skip_locked=True))
    lapsed = list(result.scalars())
    for wish in lapsed:
        await release_offer(session, wish, now, status=AppointmentStatus.expired)
        record(session, Actor.system(), "waitlist.lapse", "waitlist_wish", wish.id,
               {"reference": wish.reference})
        mail(session, wish, "lapsed")
    waiting = await session.execute(
        select(WaitlistWish).where(col(WaitlistWish.status) == WishStatus.waiting)
        .order_by(col(WaitlistWish.id)).limit(limit * 10).with_for_update(skip_locked=True))
    ended = 0
    for wish in waiting.scalars():
        last_day = max(w.to_date for w in wish.window_list())
        if last_day < now.date() - dt.timedelta(days=1):  # past in every time zone
            wish.status = WishStatus.expired
            wish.updated_at = now
            ended += 1
    await session.flush()
    return len(lapsed) + ended


async def purge_closed(session: AsyncSession, before: dt.datetime) -> int:
    """Delete entries closed (booked, left, ended) before ``before``: the retention period."""
    result = await session.execute(
        delete(WaitlistWish).where(
            col(WaitlistWish.status).not_in(list(OPEN_STATUSES)),
            col(WaitlistWish.updated_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def wishes_of(session: AsyncSession, email: str) -> list[WaitlistWish]:
    """The waitlist entries of an e-mail address (case and ``+tag`` ignored), oldest first."""
    result = await session.execute(
        select(WaitlistWish).where(col(WaitlistWish.email_norm) == normalize_email(email))
        .order_by(col(WaitlistWish.id)))
    return list(result.scalars())


async def erase_wishes(session: AsyncSession, email: str,
                       now: dt.datetime | None = None) -> list[str]:
    """Delete an address's entries (an open offer's place goes back first); their references."""
    now = now or utcnow()
    erased = []
    for wish in await wishes_of(session, email):
        await lock(session, wish)
        if wish.status == WishStatus.offered:
            await release_offer(session, wish, now, status=AppointmentStatus.cancelled)
        erased.append(wish.reference)
        await session.delete(wish)
    await session.flush()
    return erased


async def open_wishes_of(session: AsyncSession, email_norm: str) -> int:
    result = await session.execute(
        select(func.count()).select_from(WaitlistWish).where(
            col(WaitlistWish.email_norm) == email_norm,
            col(WaitlistWish.status).in_(list(OPEN_STATUSES))))
    return int(result.scalar_one())


async def queue_lengths(session: AsyncSession) -> dict[int, int]:
    """Open wishes (waiting or offered) per service: the waitlist's length."""
    result = await session.execute(
        select(col(WaitlistWish.service_id), func.count())
        .where(col(WaitlistWish.status).in_(list(OPEN_STATUSES)))
        .group_by(col(WaitlistWish.service_id)))
    return {int(service_id): int(count) for service_id, count in result.all()}


@dataclass(frozen=True)
class Joined:
    wish: WaitlistWish
    token: str  # sent once by e-mail; never logged


def check_windows(windows: Sequence[Window], today: dt.date) -> None:
    """Windows that can ever fit a slot: each problem is named by its field."""
    problem = Invalid(N_("Please check the time windows."), field="windows")
    if not windows or len(windows) > MAX_WINDOWS:
        raise Invalid(N_("Please give between 1 and %(count)s time windows."),
                      field="windows", count=MAX_WINDOWS)
    for i, window in enumerate(windows):
        if window.to_date < window.from_date:
            problem.add(f"windows[{i}].to_date",
                        N_("The end date must not be before the start date."))
        elif window.to_date < today:
            problem.add(f"windows[{i}].to_date", N_("This date is in the past."))
        elif window.to_date > today + dt.timedelta(days=366):
            problem.add(f"windows[{i}].to_date",
                        N_("Waitlist entries can reach at most one year ahead."))
        if (window.from_time is not None and window.to_time is not None
                and window.to_time <= window.from_time):
            problem.add(f"windows[{i}].to_time",
                        N_("The time “to” must be after the time “from”."))
        if any(not 0 <= day <= 6 for day in window.weekdays):
            problem.add(f"windows[{i}].weekdays",
                        N_("Weekdays are numbers from 0 (Monday) to 6 (Sunday)."))
    if problem.problems:
        raise problem


async def join(
    session: AsyncSession, links: LinkKeys, *, office_id: int, service_id: int, channel: str,
    windows: Sequence[Window], citizen: CitizenInput, locale: str, max_open: int,
    link_grace_days: int, now: dt.datetime | None = None, postal_address: Sequence[str] = (),
) -> Joined:
    """Put a wish on the waitlist of a service at an office; matching starts at once.
    ``postal_address``: checked lines (``postcall.intake.address_for``), kept for the offer."""
    now = now or utcnow()
    office, service, offered = await load_offer(session, office_id=office_id,
                                                service_id=service_id)
    if not offered:
        raise Invalid(N_("This service is not offered at this office."), field="service_id")
    if channel not in CHANNELS:
        raise Invalid(N_("This kind of appointment is not offered."), field="channel")
    # Offered by this channel, and for the phone a number to call (as a booking needs).
    channels.chosen(channels.offered(service), channel, citizen.phone)
    check_windows(windows, office_today(office, now))
    email_norm = normalize_email(citizen.email)
    await lock_email(session, email_norm)
    if await open_wishes_of(session, email_norm) >= max_open:
        raise TooManyWishes()
    nonce = links.new_nonce()
    token = links.token_for(nonce)
    last_day = max(w.to_date for w in windows)
    wish = WaitlistWish(
        reference="WL-" + new_reference()[3:], office_id=office_id, service_id=service_id,
        channel=channel, windows=windows_json(windows),
        given_name=citizen.given_name.strip(), family_name=citizen.family_name.strip(),
        email=citizen.email.strip(), email_norm=email_norm, phone=citizen.phone.strip(),
        postal_address="\n".join(postal_address), locale=locale, link_nonce=nonce,
        token_hash=links.hash_token(token),
        link_expires_at=dt.datetime.combine(last_day, dt.time(), dt.UTC)
        + dt.timedelta(days=link_grace_days + 1),
        created_at=now, updated_at=now,
    )
    session.add(wish)
    await session.flush()
    record(session, Actor.citizen(), "waitlist.join", "waitlist_wish", wish.id,
           {"reference": wish.reference})
    mail(session, wish, "received")
    schedule_matching(session, office_id)
    return Joined(wish=wish, token=token)
