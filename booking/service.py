"""Booking, confirming, cancelling and rescheduling appointments.

Every function takes the caller's session and never commits: the request (or the worker) owns
the one transaction, so an appointment, its seats, its outbox mails and its audit events are
written together or not at all. Capacity is the database's job (see ``booking.seats``).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col

from booking import channels, seats
from booking import composition as party
from booking.availability import Candidate, as_utc, lapsed_hold
from booking.availability_changes import OFFICES_OPTION, TAKES_OPTION
from booking.composition import Composition
from booking.links import LinkKeys
from booking.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, Office, Service
from booking.slot_offer import load_slot_offer, pick_slot
from core.audit import Actor, event_values, record, record_now
from core.errors import (
    AlreadyBooked,
    HoldExpired,
    Invalid,
    NotFound,
    SlotTaken,
    TooManyBookings,
    Unauthorized,
    WrongState,
)
from core.i18n import LANGUAGES
from core.inserts import insert_unless_taken
from core.jobs import enqueue, enqueue_now, job_values
from core.types import UTCDateTime, utcnow

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone
MAIL_JOB = "mail.appointment"
LOCALES = LANGUAGES
DEADLOCK_DETECTED = "40P01"  # PostgreSQL SQLSTATE


@dataclass(frozen=True)
class BookingPolicy:
    require_confirmation: bool = True
    hold_minutes: int = 15
    max_active_per_email: int = 3
    link_grace_days: int = 30
    reminder_hours: int = 24


@dataclass(frozen=True)
class CitizenInput:
    given_name: str
    family_name: str
    email: str
    phone: str = ""
    date_of_birth: date | None = None


@dataclass
class Booked:
    appointment: Appointment
    token: str  # the link token, shown/sent once; never logged
    office_timezone: str  # for the times in a response


@dataclass(frozen=True)
class Actions:
    """What the citizen may do with an appointment now (drives buttons and the API)."""

    can_confirm: bool
    can_cancel: bool
    can_reschedule: bool


# --- small helpers -----------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """Lower-case, and drop a ``+tag`` from the local part: one mailbox, one limit."""
    value = email.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local.split('+', 1)[0]}@{domain}"


def new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"BB-{chars[:4]}-{chars[4:]}"


def hold_lapsed(appointment: Appointment, now: datetime) -> bool:
    return (
        appointment.status == AppointmentStatus.reserved
        and appointment.hold_expires_at is not None
        and appointment.hold_expires_at <= now
    )


def allowed_actions(appointment: Appointment, now: datetime | None = None) -> Actions:
    now = now or utcnow()
    open_ = appointment.status in (AppointmentStatus.reserved, AppointmentStatus.confirmed)
    lapsed = hold_lapsed(appointment, now)
    return Actions(
        can_confirm=appointment.status == AppointmentStatus.reserved and not lapsed,
        can_cancel=open_ and not lapsed and now < appointment.end_at,
        can_reschedule=open_ and not lapsed and now < appointment.start_at,
    )


def _check_citizen(citizen: CitizenInput, locale: str) -> None:
    """Guards the columns' limits for every caller (the API validates more strictly first)."""
    for field, value, limit in (
        ("citizen.given_name", citizen.given_name, 100),
        ("citizen.family_name", citizen.family_name, 100),
        ("citizen.email", citizen.email, 254),
        ("citizen.phone", citizen.phone, 50),
    ):
        if len(value) > limit:
            raise Invalid("This entry is too long.", field=field)
    if not citizen.given_name.strip() or not citizen.family_name.strip():
        raise Invalid("Please enter your given name and family name.", field="citizen.given_name")
    if "@" not in citizen.email.strip("@"):
        raise Invalid("Please enter a valid e-mail address.", field="citizen.email")
    if locale not in LOCALES:
        raise Invalid("This language is not supported.", field="locale")


def _mail_payload(appointment: Appointment, template: str) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "template": template,
        "sequence": appointment.ics_sequence,
    }


def _mail_job(
    appointment: Appointment, template: str, run_after: datetime | None = None
) -> dict[str, Any]:
    """A mail job's columns, for ``enqueue_now`` (the booking's hot path)."""
    return job_values(MAIL_JOB, _mail_payload(appointment, template), run_after=run_after)


def _mail(
    session: AsyncSession,
    appointment: Appointment,
    template: str,
    run_after: datetime | None = None,
) -> None:
    enqueue(session, MAIL_JOB, _mail_payload(appointment, template), run_after=run_after)


def _reminder_at(policy: BookingPolicy, appointment: Appointment, now: datetime) -> datetime | None:
    at = appointment.start_at - timedelta(hours=policy.reminder_hours)
    return at if at > now else None


def _reminder(
    session: AsyncSession, policy: BookingPolicy, appointment: Appointment, now: datetime
) -> None:
    at = _reminder_at(policy, appointment, now)
    if at is not None:
        _mail(session, appointment, "reminder", run_after=at)


def _audit(session: AsyncSession, actor: Actor, action: str, appointment: Appointment) -> None:
    # Only the reference: the audit trail must not become a second register of citizens.
    record(session, actor, action, "appointment", appointment.id,
           {"reference": appointment.reference})


async def _lock(session: AsyncSession, appointment: Appointment) -> None:
    """Re-read the appointment under a row lock (PostgreSQL; SQLite writers are serialised)."""
    await session.refresh(appointment, with_for_update=True)


_EMAIL_LOCK = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("email_norm"))))
# The address's open appointments, and whether one of them is this very slot (the same form
# sent twice, e.g. after "Back"): one read on the hot path.
_SAME_SLOT = and_(col(Appointment.office_id) == bindparam("office_id"),
                  col(Appointment.service_id) == bindparam("service_id"),
                  col(Appointment.start_at) == bindparam("start", type_=UTCDateTime()))
_ACTIVE_COUNT = (
    # Every person of an appointment counts (``booking.composition``).
    select(func.coalesce(func.sum(party.party_size()), 0),
           func.max(case((_SAME_SLOT, col(Appointment.reference)), else_=None)))
    .select_from(Appointment)
    .where(
        col(Appointment.email_norm) == bindparam("email_norm"),
        col(Appointment.status).in_(list(ACTIVE_STATUSES)),
        ~lapsed_hold(bindparam("now", type_=UTCDateTime())),
    )
)


async def lock_email(session: AsyncSession, email_norm: str) -> None:
    # Serialise bookings of one mailbox so the per-address limit holds under concurrency.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_EMAIL_LOCK, {"email_norm": email_norm})


async def _active(session: AsyncSession, email_norm: str, now: datetime, *, office_id: int,
                  service_id: int, start: datetime) -> tuple[int, str | None]:
    """How many people the address's open appointments are for, and the reference of one at
    this slot."""
    row = (await session.execute(_ACTIVE_COUNT, {
        "email_norm": email_norm, "now": now, "office_id": office_id, "service_id": service_id,
        "start": start})).one()
    return int(row[0]), row[1]


_APPOINTMENTS = Appointment.__table__  # type: ignore[attr-defined]
_DELETE_APPOINTMENT = delete(Appointment).where(col(Appointment.id) == bindparam("id"))
_SET_SCHEDULE = (
    update(Appointment)
    .where(col(Appointment.id) == bindparam("appointment_id"))
    .values(schedule_id=bindparam("won_schedule_id"))
)


async def _insert_new(session: AsyncSession, appointment: Appointment) -> None:
    """Insert a new appointment under a fresh reference and give it its id.

    One statement: the unique key on the reference refuses a reference in use (then another is
    drawn). The statement names the office whose availability changes.
    """
    values = {c.key: getattr(appointment, c.key) for c in _APPOINTMENTS.columns if c.key != "id"}
    options = {OFFICES_OPTION: (appointment.office_id,), TAKES_OPTION: True}
    for _ in range(10):
        reference = new_reference()
        values["reference"] = reference
        values["ics_uid"] = f"{reference}@buergerbuero"
        new_id = await insert_unless_taken(
            session, _APPOINTMENTS, ("reference",), values, **options
        )
        if new_id is not None:
            appointment.id = new_id
            appointment.reference = reference
            appointment.ics_uid = values["ics_uid"]
            return
    raise RuntimeError("could not draw a free reference")  # 32^8 codes: practically unreachable


async def _claim_first(
    session: AsyncSession, appointment_id: int, candidates: list[Candidate], now: datetime
) -> Candidate:
    """Seats from the first schedule that has them (returned); ``SlotTaken`` when none has.

    Lapsed holds are looked for only when a schedule's units are full: while seats are free they
    cannot be in the way, and the common case stays one insert per unit.
    """
    for candidate in candidates:
        claimed = await seats.claim(session, appointment_id=appointment_id, candidate=candidate)
        if not claimed:
            lapsed = await seats.lapsed_holders(session, candidate, now)
            if lapsed:
                await _expire(session, lapsed, now)
                claimed = await seats.claim(
                    session, appointment_id=appointment_id, candidate=candidate
                )
        if claimed:
            return candidate
    raise SlotTaken()


@asynccontextmanager
async def _deadlock_is_taken() -> AsyncIterator[None]:
    """PostgreSQL may pick a claimer as a deadlock victim when a move frees seats that a
    concurrent booking is about to take; that claimer lost the race: ``SlotTaken``."""
    try:
        yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == DEADLOCK_DETECTED:
            raise SlotTaken() from exc
        raise


@asynccontextmanager
async def _seat_change(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint around claiming (and freeing) seats.

    If the slot is taken, the changes inside are undone even when the caller catches the error
    and commits (a failed move keeps the old seats).
    """
    async with _deadlock_is_taken(), session.begin_nested():
        yield


async def _expire(session: AsyncSession, ids: list[int], now: datetime) -> int:
    result = await session.execute(
        update(Appointment)
        .where(col(Appointment.id).in_(ids), lapsed_hold(now))
        # A new calendar sequence: the mail's cancelling .ics supersedes the hold's entry.
        .values(status=AppointmentStatus.expired, updated_at=now,
                ics_sequence=col(Appointment.ics_sequence) + 1)
        .returning(col(Appointment.id), col(Appointment.reference), col(Appointment.ics_sequence))
        .execution_options(synchronize_session="fetch")
    )
    rows = result.all()
    await seats.release(session, [row[0] for row in rows if row[0] is not None])
    for appointment_id, reference, sequence in rows:
        record(session, Actor.system(), "appointment.expire", "appointment", appointment_id,
               {"reference": reference})
        enqueue(session, MAIL_JOB,
                {"appointment_id": appointment_id, "template": "expired", "sequence": sequence})
    return len(rows)


# --- the operations ----------------------------------------------------------------------------


async def book(
    session: AsyncSession,
    links: LinkKeys,
    policy: BookingPolicy,
    *,
    service_id: int,
    office_id: int,
    start: datetime,
    citizen: CitizenInput,
    locale: str,
    now: datetime | None = None,
    composition: Composition | None = None,
    announce: bool = True,
    channel: str | None = None,
) -> Booked:
    """Book ``start`` for a citizen by ``channel`` (default: the service's default channel):
    reserved (held) or confirmed, with seats, mail and audit.

    ``composition`` (``booking.composition``): several services (the first is ``service_id``)
    and further people; the appointment is as long as they need. ``announce=False`` sends no
    mail (a waitlist offer is announced by its own).

    The hot path of the product, written as plain statements rather than through the ORM's unit
    of work: one read for office, service, closures and schedules, the per-address lock and count,
    the appointment, its seats, its mails and its audit event. The returned appointment is in the
    session like a loaded one.
    """
    now = now or utcnow()
    if start.tzinfo is None:
        raise Invalid("The time must include a UTC offset.", field="start")
    _check_citizen(citizen, locale)
    if composition is not None and composition.plain:
        composition = None
    if composition is not None:
        service_id = composition.head  # the appointment's service is the first
    email_norm = normalize_email(citizen.email)
    # The address first: the same form sent twice finds its own booking (the slot may look
    # taken by it), and the per-address limit holds under concurrency.
    await lock_email(session, email_norm)
    count, same = await _active(session, email_norm, now, office_id=office_id,
                                service_id=service_id, start=as_utc(start))
    if same is not None:
        raise AlreadyBooked(same)
    if composition is None:
        offer = await load_slot_offer(
            session, office_id=office_id, service_id=service_id, start=start)
    else:
        offer = await party.composed_offer(session, composition, office_id=office_id,
                                           start=start)
    # A bookable service (load_slot_offer refused any other): is it offered by this channel?
    channel = channels.chosen(offer.channels, channel, citizen.phone)
    candidates = pick_slot(offer, start, now, channel)
    # Every person counts; an address's first appointment is never refused for its size (a
    # family of four books with the default limit of three; ``booking_max_persons`` caps it).
    if count and count + (composition.size if composition else 1) > policy.max_active_per_email:
        raise TooManyBookings(party.TOO_MANY if composition else None)

    nonce = links.new_nonce()
    token = links.token_for(nonce)
    start = as_utc(start)
    end = candidates[0].end
    held = policy.require_confirmation
    appointment = Appointment(
        reference="",  # drawn by _insert_new
        office_id=office_id,
        service_id=service_id,
        start_at=start,
        end_at=end,
        status=AppointmentStatus.reserved if held else AppointmentStatus.confirmed,
        channel=channel,
        given_name=citizen.given_name.strip(),
        family_name=citizen.family_name.strip(),
        email=citizen.email.strip(),
        email_norm=email_norm,
        phone=citizen.phone.strip(),
        date_of_birth=citizen.date_of_birth,
        locale=locale,
        link_nonce=nonce,
        token_hash=links.hash_token(token),
        link_expires_at=end + timedelta(days=policy.link_grace_days),
        hold_expires_at=now + timedelta(minutes=policy.hold_minutes) if held else None,
        ics_uid="",
        created_at=now,
        updated_at=now,
        confirmed_at=None if held else now,
        schedule_id=candidates[0].schedule_id,  # the usual winner: no UPDATE afterwards
    )
    options = {OFFICES_OPTION: (office_id,)}
    # No savepoint (two round trips on every booking): when the slot is taken, the new row is
    # deleted again, so nothing is left even if a caller catches SlotTaken and commits.
    async with _deadlock_is_taken():
        await _insert_new(session, appointment)
        assert appointment.id is not None
        try:
            won = await _claim_first(session, appointment.id, candidates, now)
        except SlotTaken:
            await session.execute(
                _DELETE_APPOINTMENT, {"id": appointment.id}, execution_options=options
            )
            raise
        if won.schedule_id != appointment.schedule_id:
            await session.execute(
                _SET_SCHEDULE,
                {"appointment_id": appointment.id, "won_schedule_id": won.schedule_id},
                execution_options=options,
            )
            appointment.schedule_id = won.schedule_id
    if composition is not None:
        await party.save(session, appointment.id, composition)
    # In the session as if loaded: what it holds is what was written.
    make_transient_to_detached(appointment)
    session.add(appointment)

    if held:
        mails = [_mail_job(appointment, "hold")]
    else:
        mails = [_mail_job(appointment, "confirmed")]
        remind = _reminder_at(policy, appointment, now)
        if remind is not None:
            mails.append(_mail_job(appointment, "reminder", remind))
    await enqueue_now(session, mails if announce else [])
    await record_now(session, event_values(Actor.citizen(), "appointment.book", "appointment",
                                           appointment.id, {"reference": appointment.reference}))
    return Booked(appointment=appointment, token=token, office_timezone=offer.timezone)


async def find_by_token(
    session: AsyncSession, links: LinkKeys, token: str, now: datetime | None = None
) -> Appointment:
    """The appointment of a link token; ``Unauthorized`` (no detail) when unknown or expired."""
    now = now or utcnow()
    if not links.looks_like_token(token):
        raise Unauthorized()
    result = await session.execute(
        select(Appointment).where(col(Appointment.token_hash) == links.hash_token(token))
    )
    appointment = result.scalar_one_or_none()
    if appointment is None or appointment.link_expires_at <= now:
        raise Unauthorized()
    return appointment


async def confirm(
    session: AsyncSession,
    policy: BookingPolicy,
    appointment: Appointment,
    now: datetime | None = None,
) -> Appointment:
    """reserved → confirmed within the hold; confirming again is a no-op."""
    now = now or utcnow()
    await _lock(session, appointment)
    if appointment.status == AppointmentStatus.confirmed:
        return appointment
    if appointment.status == AppointmentStatus.expired or hold_lapsed(appointment, now):
        raise HoldExpired()
    if appointment.status != AppointmentStatus.reserved:
        raise WrongState()
    appointment.status = AppointmentStatus.confirmed
    appointment.confirmed_at = now
    appointment.hold_expires_at = None
    appointment.updated_at = now
    await session.flush()
    _mail(session, appointment, "confirmed")
    _reminder(session, policy, appointment, now)
    _audit(session, Actor.citizen(), "appointment.confirm", appointment)
    return appointment


async def cancel(
    session: AsyncSession, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    """Cancel a reserved or confirmed appointment; its seats are free when this commits."""
    now = now or utcnow()
    await _lock(session, appointment)
    if appointment.status not in (AppointmentStatus.reserved, AppointmentStatus.confirmed):
        raise WrongState()
    if now >= appointment.end_at:
        raise WrongState("This appointment is over and can no longer be cancelled.")
    assert appointment.id is not None
    await seats.release(session, [appointment.id])
    appointment.status = AppointmentStatus.cancelled
    appointment.cancelled_at = now
    appointment.hold_expires_at = None
    appointment.ics_sequence += 1
    appointment.updated_at = now
    await session.flush()
    _mail(session, appointment, "cancelled")
    _audit(session, actor, "appointment.cancel", appointment)
    return appointment


async def reschedule(
    session: AsyncSession,
    policy: BookingPolicy,
    appointment: Appointment,
    new_start: datetime,
    now: datetime | None = None,
) -> Appointment:
    """Move to another slot: same reference and link; old seats freed, new ones claimed."""
    now = now or utcnow()
    if new_start.tzinfo is None:
        raise Invalid("The time must include a UTC offset.", field="start")
    await _lock(session, appointment)
    if appointment.status not in (AppointmentStatus.reserved, AppointmentStatus.confirmed):
        raise WrongState()
    if hold_lapsed(appointment, now):
        raise HoldExpired()
    if appointment.start_at <= now:
        raise WrongState("This appointment has already begun and can no longer be moved.")
    new_start = as_utc(new_start)
    if new_start == appointment.start_at:
        return appointment
    assert appointment.id is not None
    composition = (await party.party_of(session, appointment)).composition()
    if composition.plain or composition.head != appointment.service_id:
        offer = await load_slot_offer(
            session, office_id=appointment.office_id, service_id=appointment.service_id,
            start=new_start,
        )
    else:  # the same length, on a schedule that offers every service
        offer = await party.composed_offer(
            session, composition, office_id=appointment.office_id, start=new_start)
    candidates = pick_slot(offer, new_start, now, appointment.channel)
    # Free our own seats first (a move by one unit may reuse them); a taken slot leaves the old
    # seats in place (see _seat_change).
    async with _seat_change(session):
        await seats.release(session, [appointment.id])
        won = await _claim_first(session, appointment.id, candidates, now)
        if appointment.schedule_id != won.schedule_id:
            appointment.schedule_id = won.schedule_id
        appointment.start_at = new_start
        appointment.end_at = candidates[0].end
        appointment.link_expires_at = max(
            appointment.link_expires_at,
            appointment.end_at + timedelta(days=policy.link_grace_days),
        )
        appointment.ics_sequence += 1
        appointment.updated_at = now
        await session.flush()
    _mail(session, appointment, "rescheduled")
    if appointment.status == AppointmentStatus.confirmed:
        _reminder(session, policy, appointment, now)
    _audit(session, Actor.citizen(), "appointment.reschedule", appointment)
    return appointment


async def expire_holds(session: AsyncSession, now: datetime | None = None, limit: int = 500) -> int:
    """reserved past ``hold_expires_at`` → expired, seats freed; returns how many."""
    now = now or utcnow()
    result = await session.execute(
        select(col(Appointment.id))
        .where(lapsed_hold(now))
        .order_by(col(Appointment.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [i for i in result.scalars().all() if i is not None]
    if not ids:
        return 0
    return await _expire(session, ids, now)


async def appointment_details(
    session: AsyncSession, appointment: Appointment
) -> tuple[Appointment, Office, Service]:
    office = await session.get(Office, appointment.office_id)
    service = await session.get(Service, appointment.service_id)
    if office is None or service is None:  # RESTRICT foreign keys: cannot happen
        raise NotFound()
    return appointment, office, service
