"""Booking, confirming, cancelling, rescheduling and expiring, against the service layer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import Database
from booking.links import LinkKeys
from booking.models import AppointmentStatus
from booking.service import (
    REFERENCE_ALPHABET,
    Booked,
    BookingPolicy,
    CitizenInput,
    allowed_actions,
    book,
    cancel,
    confirm,
    expire_holds,
    find_by_token,
    new_reference,
    normalize_email,
    reschedule,
)
from core.audit import Actor, AuditEvent
from core.errors import (
    HoldExpired,
    Invalid,
    NotASlot,
    NotFound,
    SlotTaken,
    TooManyBookings,
    Unauthorized,
    WrongState,
)
from core.jobs import Job
from tests.booking.factories import add_closure, appointments, local, seats, world

MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = BookingPolicy()


def citizen(email: str = "erika@example.com") -> CitizenInput:
    return CitizenInput("Erika", "Mustermann", email)


async def do_book(
    db: Database, links: LinkKeys, w, start: datetime, *, policy: BookingPolicy = POLICY,
    email: str = "erika@example.com", now: datetime = NOW, service_id: int | None = None,
) -> Booked:
    async with db.transaction(write=True) as session:
        return await book(session, links, policy, service_id=service_id or w.service_id,
                          office_id=w.office_id, start=start, citizen=citizen(email),
                          locale="de", now=now)


async def jobs(db: Database) -> list[dict]:
    async with db.transaction() as session:
        result = await session.execute(select(Job).order_by(Job.id))
        return [{**j.data(), "run_after": j.run_after} for j in result.scalars()]


async def audit(db: Database) -> list[AuditEvent]:
    async with db.transaction() as session:
        result = await session.execute(select(AuditEvent).order_by(AuditEvent.id))
        rows = list(result.scalars())
        session.expunge_all()
        return rows


def test_normalize_email() -> None:
    assert normalize_email(" Erika.M+Termine@Example.COM ") == "erika.m@example.com"
    assert normalize_email("a+b+c@x.de") == "a@x.de"
    assert normalize_email("no-at-sign") == "no-at-sign"


def test_reference_format() -> None:
    refs = {new_reference() for _ in range(200)}
    assert len(refs) == 200
    for ref in refs:
        assert len(ref) == 12 and ref.startswith("BB-") and ref[7] == "-"
        assert set(ref[3:7] + ref[8:]) <= set(REFERENCE_ALPHABET)


async def test_book_holds_and_enqueues_the_hold_mail(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    a = booked.appointment
    assert a.status == AppointmentStatus.reserved
    assert a.hold_expires_at == NOW + timedelta(minutes=15)
    assert a.end_at - a.start_at == timedelta(minutes=15)
    assert a.ics_uid == f"{a.reference}@buergerbuero" and a.ics_sequence == 0
    assert a.email_norm == "erika@example.com"
    assert a.link_expires_at == a.end_at + timedelta(days=30)
    assert a.token_hash == links.hash_token(booked.token) != booked.token
    assert links.token_for(a.link_nonce) == booked.token
    assert [(j["template"], j["appointment_id"], j["sequence"]) for j in await jobs(db)] == [
        ("hold", a.id, 0)
    ]
    events = await audit(db)
    assert [(e.action, e.actor_type) for e in events] == [("appointment.book", "citizen")]
    assert json.loads(events[0].detail) == {"reference": a.reference}
    assert [s.unit_start for s in await seats(db)] == [local(MONDAY, 9)]
    async with db.transaction() as session:
        found = await find_by_token(session, links, booked.token, now=NOW)
        assert found.id == a.id
        with pytest.raises(Unauthorized):
            other = "B" if booked.token.endswith("A") else "A"
            await find_by_token(session, links, booked.token[:-1] + other, now=NOW)
        with pytest.raises(Unauthorized):
            await find_by_token(session, links, "short", now=NOW)
        with pytest.raises(Unauthorized):  # the link expires with the grace period
            await find_by_token(session, links, booked.token, now=a.link_expires_at)


async def test_book_without_confirmation_is_confirmed_with_reminder(
    db: Database, links: LinkKeys
) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9),
                           policy=BookingPolicy(require_confirmation=False))
    a = booked.appointment
    assert a.status == AppointmentStatus.confirmed and a.hold_expires_at is None
    found = await jobs(db)
    assert [j["template"] for j in found] == ["confirmed", "reminder"]
    assert found[1]["run_after"] == a.start_at - timedelta(hours=24)


async def test_no_reminder_when_too_late(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    await do_book(db, links, w, local(MONDAY, 9), now=local(MONDAY, 8),
                  policy=BookingPolicy(require_confirmation=False))
    assert [j["template"] for j in await jobs(db)] == ["confirmed"]


@pytest.mark.parametrize(
    ("start", "now", "message"),
    [
        (local(MONDAY, 9), local(MONDAY, 10), "This time is in the past."),
        (local(MONDAY, 9, 5), NOW, "This time is not a bookable slot for this service."),
        (local(MONDAY, 8, 45), NOW, "This time is not a bookable slot for this service."),
        (local(MONDAY, 11, 50), NOW, "This time is not a bookable slot for this service."),
        (local(MONDAY, 12), NOW, "This time is not a bookable slot for this service."),
        (local(MONDAY + timedelta(days=400), 9), NOW, "This date is too far ahead."),
    ],
)
async def test_not_a_slot(
    db: Database, links: LinkKeys, start: datetime, now: datetime, message: str
) -> None:
    w = await world(db)
    with pytest.raises(NotASlot) as exc:
        await do_book(db, links, w, start, now=now)
    assert exc.value.msgid.startswith(message)
    assert await appointments(db) == []


async def test_not_a_slot_too_soon_closed_and_not_offered(db: Database, links: LinkKeys) -> None:
    w = await world(db, office={"min_notice_minutes": 120})
    with pytest.raises(NotASlot) as exc:
        await do_book(db, links, w, local(MONDAY, 10), now=local(MONDAY, 9))
    assert exc.value.msgid.startswith("This time is too soon.")
    assert exc.value.params == {"minutes": 120}
    await add_closure(db, None, MONDAY)
    with pytest.raises(NotASlot) as exc:
        await do_book(db, links, w, local(MONDAY, 11))
    assert exc.value.msgid == "The office is closed on this day."
    other = await world(db, office={"name": "Andere"})
    with pytest.raises(NotASlot) as exc:
        async with db.transaction(write=True) as session:
            await book(session, links, POLICY, service_id=other.service_id,
                       office_id=w.office_id, start=local(MONDAY + timedelta(days=1), 9),
                       citizen=citizen(), locale="de", now=NOW)
    assert exc.value.msgid == "This service is not offered at this office."


async def test_unknown_ids_naive_time_and_bad_citizen(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    async with db.transaction(write=True) as session:
        with pytest.raises(NotFound):
            await book(session, links, POLICY, service_id=w.service_id, office_id=4242,
                       start=local(MONDAY, 9), citizen=citizen(), locale="de", now=NOW)
        with pytest.raises(NotFound):
            await book(session, links, POLICY, service_id=4242, office_id=w.office_id,
                       start=local(MONDAY, 9), citizen=citizen(), locale="de", now=NOW)
        with pytest.raises(Invalid):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=datetime(2026, 11, 23, 9), citizen=citizen(), locale="de", now=NOW)
        with pytest.raises(Invalid):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(MONDAY, 9), citizen=CitizenInput(" ", "B", "a@b.de"),
                       locale="de", now=NOW)
        with pytest.raises(Invalid):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(MONDAY, 9), citizen=CitizenInput("A" * 101, "B", "a@b.de"),
                       locale="de", now=NOW)
        with pytest.raises(Invalid):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(MONDAY, 9), citizen=citizen(), locale="fr", now=NOW)


async def test_full_slot_is_taken(db: Database, links: LinkKeys) -> None:
    w = await world(db, capacity=3)
    for i in range(3):
        await do_book(db, links, w, local(MONDAY, 9), email=f"p{i}@example.com")
    assert sorted(s.seat for s in await seats(db)) == [0, 1, 2]
    with pytest.raises(SlotTaken):
        await do_book(db, links, w, local(MONDAY, 9), email="p4@example.com")
    assert len(await appointments(db)) == 3  # the failed attempt left nothing behind


async def test_per_email_limit_ignores_case_and_tags(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    policy = BookingPolicy(max_active_per_email=2)
    await do_book(db, links, w, local(MONDAY, 9), email="Erika@Example.com", policy=policy)
    second = await do_book(db, links, w, local(MONDAY, 10), email="erika+termin@example.com",
                           policy=policy)
    with pytest.raises(TooManyBookings):
        await do_book(db, links, w, local(MONDAY, 11), email="ERIKA+x@EXAMPLE.COM",
                      policy=policy)
    await do_book(db, links, w, local(MONDAY, 11), email="max@example.com", policy=policy)
    # A cancelled appointment no longer counts.
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, second.token, now=NOW)
        await cancel(session, a, Actor.citizen(), now=NOW)
    await do_book(db, links, w, local(MONDAY, 11, 15), email="erika@example.com", policy=policy)


async def test_confirm_and_idempotence(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    for _ in range(2):
        async with db.transaction(write=True) as session:
            a = await find_by_token(session, links, booked.token, now=NOW)
            a = await confirm(session, POLICY, a, now=NOW + timedelta(minutes=5))
            assert a.status == AppointmentStatus.confirmed and a.hold_expires_at is None
    assert [j["template"] for j in await jobs(db)] == ["hold", "confirmed", "reminder"]
    assert [e.action for e in await audit(db)] == ["appointment.book", "appointment.confirm"]


async def test_confirm_after_hold_lapsed(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        assert allowed_actions(a, NOW + timedelta(minutes=16)).can_confirm is False
        with pytest.raises(HoldExpired):
            await confirm(session, POLICY, a, now=NOW + timedelta(minutes=16))


async def test_expire_holds_frees_the_seat(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    held = await do_book(db, links, w, local(MONDAY, 9))
    kept = await do_book(db, links, w, local(MONDAY, 10), email="max@example.com")
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, kept.token, now=NOW)
        await confirm(session, POLICY, a, now=NOW)
    async with db.transaction(write=True) as session:
        assert await expire_holds(session, now=NOW + timedelta(minutes=10)) == 0
    async with db.transaction(write=True) as session:
        assert await expire_holds(session, now=NOW + timedelta(minutes=16)) == 1
    statuses = {a.reference: a.status for a in await appointments(db)}
    assert statuses[held.appointment.reference] == AppointmentStatus.expired
    assert statuses[kept.appointment.reference] == AppointmentStatus.confirmed
    assert [s.unit_start for s in await seats(db)] == [local(MONDAY, 10)]
    assert (await jobs(db))[-1]["template"] == "expired"
    # The expiry mail's cancelling .ics carries a newer sequence than the hold's entry.
    expired = next(a for a in await appointments(db)
                   if a.reference == held.appointment.reference)
    assert expired.ics_sequence == held.appointment.ics_sequence + 1
    assert (await jobs(db))[-1]["sequence"] == expired.ics_sequence
    assert (await audit(db))[-1].action == "appointment.expire"
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, held.token, now=NOW)
        with pytest.raises(HoldExpired):
            await confirm(session, POLICY, a, now=NOW + timedelta(minutes=17))
    await do_book(db, links, w, local(MONDAY, 9), email="new@example.com",
                  now=NOW + timedelta(minutes=17))


async def test_booking_releases_a_lapsed_hold_on_its_slot(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    held = await do_book(db, links, w, local(MONDAY, 9))
    later = NOW + timedelta(minutes=20)
    await do_book(db, links, w, local(MONDAY, 9), email="max@example.com", now=later)
    statuses = {a.reference: a.status for a in await appointments(db)}
    assert statuses[held.appointment.reference] == AppointmentStatus.expired
    assert len(await seats(db)) == 1


async def test_cancel_frees_the_slot_at_once(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        a = await cancel(session, a, Actor.citizen(), now=NOW)
        assert a.status == AppointmentStatus.cancelled and a.ics_sequence == 1
    assert await seats(db) == []
    assert (await jobs(db))[-1] == {**(await jobs(db))[-1], "template": "cancelled",
                                    "sequence": 1}
    await do_book(db, links, w, local(MONDAY, 9), email="max@example.com")
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        with pytest.raises(WrongState):
            await cancel(session, a, Actor.citizen(), now=NOW)


async def test_cancel_after_the_end_is_refused(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9),
                           policy=BookingPolicy(require_confirmation=False))
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        with pytest.raises(WrongState):
            await cancel(session, a, Actor.citizen(), now=local(MONDAY, 9, 15))


async def test_reschedule_keeps_reference_and_token(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        await confirm(session, POLICY, a, now=NOW)
        a = await reschedule(session, POLICY, a, local(MONDAY, 10), now=NOW)
        assert a.start_at == local(MONDAY, 10) and a.ics_sequence == 1
        assert a.status == AppointmentStatus.confirmed
    assert [s.unit_start for s in await seats(db)] == [local(MONDAY, 10)]
    async with db.transaction() as session:
        again = await find_by_token(session, links, booked.token, now=NOW)
        assert again.reference == booked.appointment.reference
    templates = [(j["template"], j["sequence"]) for j in await jobs(db)]
    assert templates[-2:] == [("rescheduled", 1), ("reminder", 1)]
    # The old slot is free again at once.
    await do_book(db, links, w, local(MONDAY, 9), email="max@example.com")


async def test_reschedule_reserved_stays_reserved(db: Database, links: LinkKeys) -> None:
    w = await world(db, service={"duration_minutes": 30})
    booked = await do_book(db, links, w, local(MONDAY, 9))
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        # One unit later: overlaps its own seat at 09:15.
        a = await reschedule(session, POLICY, a, local(MONDAY, 9, 15), now=NOW)
        assert a.status == AppointmentStatus.reserved
        assert a.hold_expires_at == booked.appointment.hold_expires_at
    assert sorted(s.unit_start for s in await seats(db)) == [local(MONDAY, 9, 15),
                                                             local(MONDAY, 9, 30)]
    assert [j["template"] for j in await jobs(db)] == ["hold", "rescheduled"]


async def test_reschedule_errors(db: Database, links: LinkKeys) -> None:
    w = await world(db)
    booked = await do_book(db, links, w, local(MONDAY, 9))
    await do_book(db, links, w, local(MONDAY, 10), email="max@example.com")
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        with pytest.raises(SlotTaken):
            await reschedule(session, POLICY, a, local(MONDAY, 10), now=NOW)
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        with pytest.raises(NotASlot):
            await reschedule(session, POLICY, a, local(MONDAY, 10, 7), now=NOW)
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        with pytest.raises(HoldExpired):
            await reschedule(session, POLICY, a, local(MONDAY, 11), now=NOW + timedelta(hours=1))
    # The failed attempts changed nothing.
    assert sorted(s.unit_start for s in await seats(db)) == [local(MONDAY, 9), local(MONDAY, 10)]
    async with db.transaction(write=True) as session:
        a = await find_by_token(session, links, booked.token, now=NOW)
        await confirm(session, POLICY, a, now=NOW)
        with pytest.raises(WrongState):
            await reschedule(session, POLICY, a, local(MONDAY, 11), now=local(MONDAY, 9, 5))
        await cancel(session, a, Actor.citizen(), now=NOW)
        with pytest.raises(WrongState):
            await reschedule(session, POLICY, a, local(MONDAY, 11), now=NOW)


async def test_taken_slot_leaves_nothing_even_if_the_caller_commits(
    db: Database, links: LinkKeys
) -> None:
    w = await world(db)
    await do_book(db, links, w, local(MONDAY, 9))
    async with db.transaction(write=True) as session:
        with pytest.raises(SlotTaken):
            await book(session, links, POLICY, service_id=w.service_id, office_id=w.office_id,
                       start=local(MONDAY, 9), citizen=citizen("max@example.com"),
                       locale="de", now=NOW)
    assert len(await appointments(db)) == 1
    assert len(await seats(db)) == 1
    assert [j["template"] for j in await jobs(db)] == ["hold"]
