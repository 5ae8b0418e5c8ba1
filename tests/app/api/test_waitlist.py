"""The waitlist through the public API (CONTRACT §3 "Waitlist"), with a real SMTP sink: a freed
place is held and offered to exactly one person, first come first served; an offer lapses (the
clock moved, never waited for) or is declined and goes on; one offer at a time per person;
accepting gives a confirmed appointment; bad input is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import select

from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.models import Service
from booking.waitlist import WaitlistWish
from core.types import Clock
from postcall.dispatch import postal_address
from tests.app.api.waitlist_support import DAY, Site, link_in, mails_to, site
from tests.booking.factories import BERLIN, world
from tests.conftest import running
from tests.smtp_support import SmtpSink
from tests.staff.helpers import ADMIN_EMAIL, add_user, token_for

__all__ = ["site"]


async def _fill_day(site: Site) -> tuple[str, str]:
    """Both places of DAY booked; the two appointments' tokens."""
    return await site.book("anna", 9, 0), await site.book("bert", 9, 15)


async def _alice_offered(site: Site) -> tuple[str, str]:
    """Both places booked, Alice then Bob waiting, one place freed: Alice's offer. Their
    tokens."""
    first_booking, _ = await _fill_day(site)
    alice = await site.join("alice")
    bob = await site.join("bob")
    assert (await site.post("/api/v1/me/cancel", first_booking)).status_code == 200
    await site.work()
    assert (await site.me(alice))["status"] == "offered"
    return alice, bob


async def test_a_cancellation_is_offered_to_the_first_waiting_only(
        site: Site, smtp_sink: SmtpSink) -> None:
    first_booking, _ = await _fill_day(site)
    alice = await site.join("alice")
    bob = await site.join("bob")
    await site.work()
    assert (await site.me(alice))["status"] == "waiting"  # nothing free yet

    assert (await site.post("/api/v1/me/cancel", first_booking)).status_code == 200
    await site.work()
    a, b = await site.me(alice), await site.me(bob)
    assert a["status"] == "offered" and b["status"] == "waiting"
    assert a["offer"]["start"].startswith(f"{DAY.isoformat()}T09:00")
    held = [x for x in await site.held() if x.email == "alice@example.org"]
    assert len(held) == 1 and held[0].status == "reserved"
    # The offer mail reaches Alice, with her waitlist link; Bob gets only his confirmation.
    offers = [m for m in mails_to(smtp_sink, "alice@example.org")
              if "frei geworden" in str(m["Subject"])]
    assert len(offers) == 1 and link_in(offers[0]) == alice
    assert not [m for m in mails_to(smtp_sink, "bob@example.org")
                if "frei geworden" in str(m["Subject"])]

    # More workers and sweeps change nothing: still one offer.
    await site.work(sweep=True)
    assert (await site.me(bob))["status"] == "waiting"


async def test_an_unanswered_offer_lapses_and_goes_to_the_next(site: Site,
                                                              smtp_sink: SmtpSink) -> None:
    alice, bob = await _alice_offered(site)
    offer = (await site.me(alice))["offer"]
    try:
        Clock.shift(timedelta(hours=3, minutes=59))
        await site.work(sweep=True)
        assert (await site.me(alice))["status"] == "offered"  # not yet
        Clock.shift(timedelta(hours=4, minutes=1))
        await site.work(sweep=True)
        a, b = await site.me(alice), await site.me(bob)
        assert a["status"] == "waiting" and a["offer"] is None
        assert b["status"] == "offered" and b["offer"]["start"] == offer["start"]
        r = await site.post("/api/v1/me/accept", alice)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_offer"
        held = await site.held()
        assert [x.email for x in held if x.status == "reserved"] == ["bob@example.org"]
    finally:
        Clock.shift(timedelta(0))
    assert [m for m in mails_to(smtp_sink, "alice@example.org")
            if "abgelaufen" in str(m["Subject"])]


async def test_a_declined_offer_goes_to_the_next_and_accepting_books(site: Site,
                                                                    smtp_sink: SmtpSink) -> None:
    alice, bob = await _alice_offered(site)
    r = await site.post("/api/v1/me/decline", alice)
    assert r.status_code == 200 and r.json()["status"] == "waiting"
    await site.work()
    assert (await site.me(alice))["status"] == "waiting"  # the declined place is not hers again
    assert (await site.me(bob))["status"] == "offered"

    r = await site.post("/api/v1/me/accept", bob)
    assert r.status_code == 200, r.text
    booked = r.json()
    assert booked["status"] == "booked"
    assert booked["appointment"]["status"] == "confirmed"
    assert booked["appointment"]["start"].startswith(f"{DAY.isoformat()}T09:00")
    # Accepting twice is harmless; declining after accepting is not possible.
    assert (await site.post("/api/v1/me/accept", bob)).status_code == 200
    assert (await site.post("/api/v1/me/decline", bob)).status_code == 409
    # The appointment has its own link, mailed as every confirmed appointment.
    await site.work()
    confirmed = [m for m in mails_to(smtp_sink, "bob@example.org")
                 if "bestätigt" in str(m["Subject"])]
    assert len(confirmed) == 1
    appointment_token = link_in(confirmed[0])
    me = await site.me(appointment_token)
    assert me["reference"] == booked["appointment"]["reference"]
    assert me["status"] == "confirmed"


async def test_one_offer_at_a_time_per_person(site: Site) -> None:
    first, second = await _fill_day(site)
    carla_early = await site.join("carla", from_time="09:00", to_time="09:15")
    carla_late = await site.join("carla", from_time="09:15", to_time="09:30")
    dora = await site.join("dora")
    await site.post("/api/v1/me/cancel", first)
    await site.post("/api/v1/me/cancel", second)
    await site.work()
    early, late = await site.me(carla_early), await site.me(carla_late)
    assert [early["status"], late["status"]] == ["offered", "waiting"]
    assert (await site.me(dora))["status"] == "offered"  # the other place is Dora's
    # Carla declines: the place she declined is not hers again; her other wish may get one
    # only when one fits it.
    await site.post("/api/v1/me/decline", carla_early)
    await site.work()
    assert (await site.me(carla_early))["status"] == "waiting"


async def test_withdrawing_gives_up_the_offer(site: Site) -> None:
    alice, bob = await _alice_offered(site)
    r = await site.post("/api/v1/me/cancel", alice)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    await site.work()
    assert (await site.me(bob))["status"] == "offered"
    assert (await site.post("/api/v1/me/cancel", alice)).status_code == 409


async def test_bad_input_is_a_422_naming_the_field(site: Site) -> None:
    w = site.world
    base = {"service_id": w.service_id, "office_id": w.office_id,
            "citizen": {"given_name": "A", "family_name": "B", "email": "a@example.org"}}
    day = DAY.isoformat()
    cases = [
        ({**base, "windows": []}, "windows"),
        ({**base, "windows": [{"from_date": day, "to_date": "2020-01-01"}]}, "to_date"),
        ({**base, "windows": [{"from_date": day, "to_date": day, "from_time": "10:00",
                               "to_time": "09:00"}]}, "to_time"),
        ({**base, "windows": [{"from_date": day, "to_date": day, "from_time": "25:00"}]},
         "from_time"),
        ({**base, "windows": [{"from_date": day, "to_date": day, "weekdays": [7]}]},
         "weekdays"),
        ({**base, "channel": "fax", "windows": [{"from_date": day, "to_date": day}]},
         "channel"),
        ({**base, "windows": [{"from_date": "morgen", "to_date": day}]}, "from_date"),
        ({**base, "citizen": {"given_name": "A"}, "windows": [{"from_date": day,
                                                              "to_date": day}]}, "citizen"),
    ]
    for body, field in cases:
        r = await site.client.post("/api/v1/waitlist", json=body)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert field in r.text, (field, r.text)
        assert error["message"]
    r = await site.client.post("/api/v1/waitlist", json={
        **base, "service_id": 999, "windows": [{"from_date": day, "to_date": day}]})
    assert r.status_code == 404
    r = await site.client.post("/api/v1/waitlist", content=b"{", headers={
        "content-type": "application/json"})
    assert r.status_code == 400
    # English on request.
    r = await site.client.post("/api/v1/waitlist?lang=en", json={**base, "windows": [
        {"from_date": day, "to_date": day, "from_time": "10:00", "to_time": "09:00"}]})
    assert "The time “to” must be after the time “from”." in r.text


async def test_the_number_of_open_wishes_per_address_is_limited(site: Site) -> None:
    for _ in range(3):
        await site.join("erik")
    r = await site.client.post("/api/v1/waitlist", json={
        "service_id": site.world.service_id, "office_id": site.world.office_id,
        "windows": [{"from_date": DAY.isoformat(), "to_date": DAY.isoformat()}],
        "citizen": {"given_name": "E", "family_name": "M", "email": "Erik+x@example.org"}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_wishes"


async def test_an_offer_never_outlasts_its_slot(site: Site) -> None:
    first, _ = await _fill_day(site)
    alice = await site.join("alice")
    # Two hours before the slot: the offer ends when the slot begins, not four hours later.
    slot = datetime.combine(DAY, time(9, 0), BERLIN)
    try:
        Clock.shift(slot - timedelta(hours=2) - datetime.now(UTC))
        assert (await site.post("/api/v1/me/cancel", first)).status_code == 200
        await site.work()
        offer = (await site.me(alice))["offer"]
        assert datetime.fromisoformat(offer["expires_at"]) == slot
        [held] = [a for a in await site.held() if a.status == "reserved"]
        assert held.hold_expires_at == slot
    finally:
        Clock.shift(timedelta(0))


async def test_closed_entries_go_after_the_retention_period(site: Site) -> None:
    alice = await site.join("alice")
    bob = await site.join("bob")
    assert (await site.post("/api/v1/me/cancel", alice)).status_code == 200
    try:
        Clock.shift(timedelta(days=site.state.settings.retention_days + 1))
        await site.work(sweep=True)
        # Bob's link has lapsed with his days.
        r = await site.client.get("/api/v1/me", headers={"Authorization": f"Bearer {bob}"})
        assert r.status_code == 401
    finally:
        Clock.shift(timedelta(0))
    async with site.db.transaction() as session:
        left = (await session.execute(select(  # type: ignore[call-overload]
            WaitlistWish.email, WaitlistWish.status))).all()
    # Alice's closed entry is gone; Bob's ended (its day passed) only now and stays for now.
    assert [tuple(row) for row in left] == [("bob@example.org", "expired")]


async def test_export_and_erasure_include_the_waitlist(site: Site) -> None:
    alice, bob = await _alice_offered(site)
    await add_user(site.app, ADMIN_EMAIL, role="admin")
    admin = {"Authorization": f"Bearer {await token_for(site.client, ADMIN_EMAIL)}"}
    r = await site.client.get("/api/v1/admin/waitlist", headers=admin)
    assert r.status_code == 200 and r.json()[0]["length"] == 2
    assert (await site.client.get("/api/v1/admin/waitlist")).status_code == 401
    r = await site.client.get("/api/v1/admin/privacy/export?email=alice@example.org",
                              headers=admin)
    [entry] = r.json()["waitlist"]
    assert entry["email"] == "alice@example.org" and "token_hash" not in entry
    r = await site.client.post("/api/v1/admin/privacy/erase", json={"email": "alice@example.org"},
                               headers=admin)
    assert r.status_code == 200 and entry["reference"] in r.json()["erased"]
    assert (await site.client.get("/api/v1/me", headers={"Authorization": f"Bearer {alice}"})
            ).status_code == 401
    await site.work()  # her held place goes to the next person
    assert (await site.me(bob))["status"] == "offered"


async def test_mails_speak_the_entry_language(site: Site, smtp_sink: SmtpSink) -> None:
    await site.join("fiona", locale="en")
    await site.join("gerd")
    await site.work()  # both places of the day are free: each gets one offered at once
    english = sorted(str(m["Subject"]) for m in mails_to(smtp_sink, "fiona@example.org"))
    german = sorted(str(m["Subject"]) for m in mails_to(smtp_sink, "gerd@example.org"))
    assert english == ["A place is free for you: Meldebescheinigung",
                       "You are on the waitlist for Meldebescheinigung"]
    assert german == ["Ein Termin ist für Sie frei geworden: Meldebescheinigung",
                      "Sie stehen auf der Warteliste für Meldebescheinigung"]
    english, german = mails_to(smtp_sink, "fiona@example.org")[0], \
        mails_to(smtp_sink, "gerd@example.org")[0]
    assert english["Content-Language"] == "en" and german["Content-Language"] == "de"
    assert link_in(english) and link_in(german)


async def test_joining_needs_the_proof_of_work_when_it_is_on(
        settings_factory: Callable[..., Settings], db_url: str) -> None:
    from tests.app.api.test_proof_of_work import HARD, solved

    db = Database(db_url)
    w = await world(db)
    app = create_app(settings_factory(proof_of_work=True, proof_of_work_max_number=HARD))
    body = {"service_id": w.service_id, "office_id": w.office_id,
            "windows": [{"from_date": DAY.isoformat(), "to_date": DAY.isoformat()}],
            "citizen": {"given_name": "A", "family_name": "B", "email": "a@example.org"}}
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url="http://testserver") as client:
        r = await client.post("/api/v1/waitlist", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "proof_required"
        proof = await solved(client)
        r = await client.post("/api/v1/waitlist", json={**body, "altcha": proof})
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/waitlist", json={**body, "altcha": proof})
        assert r.status_code == 409 and r.json()["error"]["code"] == "proof_reused"
    await db.dispose()


async def test_a_freed_place_goes_to_the_first_wish_of_its_channel(site: Site) -> None:
    """A place only for phone appointments (a phone-only schedule) is offered to the first
    wish by phone, not to an earlier wish by video; the wish's channel is checked as a
    booking's: offered by the service, and a number to call for the phone."""
    from booking.models import Schedule, ScheduleService, Service

    async with site.db.transaction(write=True) as session:
        service = await session.get(Service, site.world.service_id)
        assert service is not None
        service.phone = True
    await _fill_day(site)
    r = await site.client.post("/api/v1/waitlist", json={
        "service_id": site.world.service_id, "office_id": site.world.office_id,
        "channel": "phone",
        "windows": [{"from_date": DAY.isoformat(), "to_date": DAY.isoformat()}],
        "citizen": {"given_name": "Carl", "family_name": "Muster",
                    "email": "carl@example.org"}})
    assert r.status_code == 422 and "citizen.phone" in r.text, r.text
    bob = await site.join("bob")  # by video, first in line
    alice = await site.join("alice", channel="phone", citizen={
        "given_name": "Alice", "family_name": "Muster", "email": "alice@example.org",
        "phone": "0711 123456"})
    # One place more, for phone appointments only.
    async with site.db.transaction(write=True) as session:
        schedule = Schedule(office_id=site.world.office_id, start_time=time(9, 0),
                            end_time=time(9, 15), capacity=1, valid_from=DAY,
                            valid_until=DAY, weekdays=str(DAY.weekday()), channel="phone")
        session.add(schedule)
        await session.flush()
        assert schedule.id is not None
        session.add(ScheduleService(schedule_id=schedule.id,
                                    service_id=site.world.service_id))
    await site.work(sweep=True)
    assert (await site.me(bob))["status"] == "waiting"
    offered = await site.me(alice)
    assert offered["status"] == "offered"
    held = [a for a in await site.held() if a.email == "alice@example.org"]
    assert [a.channel for a in held] == ["phone"]


async def test_a_lost_link_mail_lists_the_open_waitlist_entries(
        site: Site, smtp_sink: SmtpSink) -> None:
    await _fill_day(site)
    waiting = await site.join("alice")
    withdrawn = await site.join("alice", from_time="09:15", to_time="09:30")
    assert (await site.post("/api/v1/me/cancel", withdrawn)).status_code == 200
    await site.work()
    r = await site.client.post("/api/v1/links/resend", json={"email": "Alice@Example.org"})
    assert r.status_code == 202, r.text
    await site.work()
    [message] = [m for m in mails_to(smtp_sink, "alice@example.org")
                 if "Ihre Links" in str(m["Subject"])]
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    body = str(part.get_content())
    assert f"/t/{waiting}" in body and "Warteliste:" in body
    assert withdrawn not in message.as_string()


async def test_an_offer_of_a_service_by_post_books_with_the_wish_s_address(site: Site) -> None:
    first_booking, _ = await _fill_day(site)
    async with site.db.transaction(write=True) as session:
        service = await session.get(Service, site.world.service_id)
        assert service is not None
        service.delivers_by_post = True
    # Without an address the wish is refused like a booking, naming the field.
    body = {"service_id": site.world.service_id, "office_id": site.world.office_id,
            "windows": [{"from_date": DAY.isoformat(), "to_date": DAY.isoformat()}],
            "citizen": {"given_name": "Alice", "family_name": "Muster",
                        "email": "alice@example.org"}}
    r = await site.client.post("/api/v1/waitlist", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "postal_address"
    assert "Postanschrift" in r.json()["error"]["message"]
    r = await site.client.post("/api/v1/waitlist", json={**body, "postal_address": ["x" * 61]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "postal_address"
    alice = await site.join("alice", postal_address=["Hauptstraße 1", "", "73760 Ostfildern"])
    assert (await site.post("/api/v1/me/cancel", first_booking)).status_code == 200
    await site.work()
    assert (await site.me(alice))["status"] == "offered"
    [held] = [x for x in await site.held() if x.email == "alice@example.org"]
    assert held.case_id is not None
    async with site.db.transaction() as session:
        assert await postal_address(session, held.case_id) == ("Hauptstraße 1",
                                                               "73760 Ostfildern")
