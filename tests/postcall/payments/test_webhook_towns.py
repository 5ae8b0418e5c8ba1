"""Stripe's webhook answers on every host and finds the payment by Stripe's session id, with no
municipality current: a payment of town B's case is recorded as B's (its receipt job, its audit
event), so the worker finds the case and the receipt names town B."""

from __future__ import annotations

import email
import email.policy

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.settings import Settings
from booking.models import Appointment, Office
from core.audit import Actor, AuditEvent
from core.jobs import Job
from core.tenancy import acting_for
from postcall.payments.service import RECEIPT_JOB
from tenants.service import create_municipality
from tests.postcall.payments.conftest import World
from tests.postcall.payments.fake_stripe import FakeStripe
from tests.request_support import drain
from tests.staff.helpers import context


async def test_a_webhook_pays_town_b_s_case_for_town_b(
    app: Starlette, settings: Settings, fake_stripe: FakeStripe
) -> None:
    async with context(app).db.transaction(write=True) as session:
        town = await create_municipality(session, Actor.system(), {
            "name": "Stadt Zwiebelbach", "hosts": ["b.example"]})
        b_id = town.id
    context(app).hosts.forget()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b.example") as town_b, \
            httpx.AsyncClient(transport=transport, base_url="http://a.example") as stripe:
        world = World(app, town_b, fake_stripe)
        with acting_for(b_id):
            ref = await world.case()
        async with context(app).db.transaction(write=True) as session:
            appointment = await session.get(Appointment, ref.appointment_id)
            assert appointment is not None
            office = await session.get(Office, appointment.office_id)
            assert office is not None  # with a letterhead and bank details for the receipt
            office.authority = "Stadt Musterhausen"
            office.address = "Marktplatz 1\n73760 Musterhausen"
            office.iban, office.bic = "DE89370400440532013000", "COBADEFFXXX"
            office.bank_name = "Kreissparkasse Musterhausen"
        session_id = await world.start_session(ref)
        fake_stripe.complete(session_id)
        # Stripe calls the address it was given, whichever municipality's host that is.
        payload = fake_stripe.event("checkout.session.completed", session_id)
        r = await stripe.post("/api/v1/webhooks/stripe", content=payload, headers={
            "Content-Type": "application/json", "Stripe-Signature": fake_stripe.sign(payload)})
        assert r.status_code == 200 and r.json()["outcome"] == "paid", r.text

    async with context(app).db.transaction() as session:
        jobs = (await session.execute(select(Job).where(col(Job.kind) == RECEIPT_JOB))).scalars()
        receipt_towns = [job.municipality_id for job in jobs]
        events = (await session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "payment.paid"))).scalars()
        event_towns = [event.municipality_id for event in events]
    assert receipt_towns == [b_id] and event_towns == [b_id]

    await drain(app)
    receipts = []
    for path in settings.mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if ref.number in str(message["Subject"]):
            receipts.append(message)
    [receipt] = receipts
    assert "Stadt Zwiebelbach" in str(receipt["From"])
