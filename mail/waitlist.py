"""Waitlist e-mails (``booking.waitlist``): the entry received, a place offered, an offer
lapsed. The outbox job ``mail.waitlist`` carries ``{"wish_id", "template"}``; the link is
rebuilt from the wish's nonce, and the mail is in the wish's language.

An offer mail whose offer is no longer open when the job runs (accepted, declined or lapsed
meanwhile) is not sent.
"""

from __future__ import annotations

import hashlib
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from booking.catalog import service_name
from booking.models import Appointment, Office, Service
from booking.waitlist import WaitlistWish, WishStatus
from core.jobs import Job, payload_int
from mail.compose import MailEnv, PermanentMailError, compose, deliver, finish, mail_domain

log = logging.getLogger("buergerbuero.mail")

TEMPLATES = ("received", "offer", "lapsed")


async def send_waitlist_mail(env: MailEnv, job: Job) -> None:
    """Handler for ``mail.waitlist`` jobs."""
    data = job.data()
    template = data.get("template")
    if template not in TEMPLATES:
        raise PermanentMailError("unknown waitlist mail template")
    wish_id = payload_int(data, "wish_id")
    async with env.db.transaction() as session:
        row = (await session.execute(
            select(WaitlistWish, Office, Service)
            .join(Office, col(Office.id) == col(WaitlistWish.office_id))
            .join(Service, col(Service.id) == col(WaitlistWish.service_id))
            .where(col(WaitlistWish.id) == wish_id))).first()
        appointment = None
        if row is not None and row[0].appointment_id is not None:
            appointment = await session.get(Appointment, row[0].appointment_id)
        session.expunge_all()
    if row is None:
        log.info("job %s: waitlist entry gone, mail skipped", job.id)
        return
    wish, office, service = row
    if template == "offer" and (wish.status != WishStatus.offered or appointment is None):
        log.info("job %s: the offer is no longer open, mail skipped", job.id)
        return
    t = env.i18n.translator(wish.locale)
    name = service_name(service, t.lang)
    subjects = {
        "received": t.gettext("You are on the waitlist for %(service)s", service=name),
        "offer": t.gettext("A place is free for you: %(service)s", service=name),
        "lapsed": t.gettext("Your offer from the waitlist has lapsed"),
    }
    slot_date = slot_time = deadline = ""
    if template == "offer" and appointment is not None and wish.offer_expires_at is not None:
        zone = ZoneInfo(office.timezone)
        slot_date = t.date(appointment.start_at.astimezone(zone).date(), "full")
        slot_time = t.time(appointment.start_at, office.timezone)
        deadline = (f"{t.date(wish.offer_expires_at.astimezone(zone).date(), 'medium')} "
                    f"{t.time(wish.offer_expires_at, office.timezone)}")
    digest = hashlib.sha256(f"waitlist:{job.id}:{job.payload}".encode()).hexdigest()[:16]
    message = compose(
        env, t, f"waitlist/{template}", subject=subjects[str(template)], office=office,
        to=(f"{wish.given_name} {wish.family_name}", wish.email),
        message_id=f"<job-{job.id}.{digest}@{mail_domain(env.base_url)}>",
        citizen_name=f"{wish.given_name} {wish.family_name}", service_name=name,
        reference=wish.reference, url=env.link_url(wish.link_nonce), slot_date=slot_date,
        slot_time=slot_time, deadline=deadline)
    await deliver(env, finish(message, t), f"waitlist.{template}")
