"""The e-mail with the links of an address's open appointments, requests and waitlist entries
(a lost link, ``online/lost_links.py``): the outbox job ``mail.links``.

The job names the appointments and requests that were open when the citizen asked; each is
checked again here, and one that has closed since is left out (none left: no mail). The mail
goes to the address of the latest of them, in the language of the latest booking or request,
from that one's office. Links are rebuilt from the stored nonces, as for every mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from booking.catalog import service_name
from booking.models import Appointment, Office, Service
from booking.waitlist import WaitlistWish
from cases.models import Case
from core.i18n import Translator
from core.jobs import Job
from core.types import utcnow
from mail.compose import MailEnv, PermanentMailError, compose, deliver, finish, mail_domain
from online.lost_links import appointment_open, request_open, wish_open
from online.models import OnlineRequest

log = logging.getLogger("buergerbuero.mail")


@dataclass(frozen=True)
class Item:
    title: str
    detail: str
    url: str
    since: dt.datetime  # when it was booked or sent: the latest one addresses the mail
    office: Office
    email: str
    name: str


def _ids(data: dict[str, object], key: str) -> list[int]:
    value = data.get(key, [])  # (jobs written before waitlist entries were listed lack them)
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise PermanentMailError("malformed mail job payload")
    return [int(v) for v in value]


def _appointment_item(env: MailEnv, t: Translator, appointment: Appointment, office: Office,
                      service: Service) -> Item:
    zone = ZoneInfo(office.timezone)
    day = t.date(appointment.start_at.astimezone(zone).date(), "full")
    return Item(
        title=t.gettext("Appointment: %(service)s", service=service_name(service, t.lang)),
        detail=t.gettext("%(date)s at %(time)s, %(office)s", date=day,
                         time=t.time(appointment.start_at, office.timezone), office=office.name),
        url=env.link_url(appointment.link_nonce), since=appointment.created_at, office=office,
        email=appointment.email,
        name=f"{appointment.given_name} {appointment.family_name}".strip())


def _request_item(env: MailEnv, t: Translator, case: Case, request: OnlineRequest,
                  office: Office, service: Service) -> Item:
    return Item(
        title=t.gettext("Request: %(service)s", service=service_name(service, t.lang)),
        detail=t.gettext("Reference %(reference)s, %(office)s", reference=case.reference,
                         office=office.name),
        url=env.link_url(request.link_nonce), since=request.submitted_at, office=office,
        email=case.email, name="" if request.anonymous else
        f"{case.given_name} {case.family_name}".strip())


def _wish_item(env: MailEnv, t: Translator, wish: WaitlistWish, office: Office,
               service: Service) -> Item:
    return Item(
        title=t.gettext("Waitlist: %(service)s", service=service_name(service, t.lang)),
        detail=t.gettext("Waiting for a place, %(office)s", office=office.name),
        url=env.link_url(wish.link_nonce), since=wish.created_at, office=office,
        email=wish.email, name=f"{wish.given_name} {wish.family_name}".strip())


async def _items(env: MailEnv, t: Translator, appointment_ids: list[int],
                 request_ids: list[int], wish_ids: list[int]) -> list[Item]:
    now = utcnow()
    async with env.db.transaction() as session:
        appointments = (await session.execute(
            select(Appointment, Office, Service)
            .join(Office, col(Office.id) == col(Appointment.office_id))
            .join(Service, col(Service.id) == col(Appointment.service_id))
            .where(col(Appointment.id).in_(appointment_ids)).order_by(col(Appointment.start_at))
        )).all()
        requests = (await session.execute(
            select(Case, OnlineRequest, Office, Service)
            .join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
            .join(Office, col(Office.id) == col(Case.office_id))
            .join(Service, col(Service.id) == col(Case.service_id))
            .where(col(Case.id).in_(request_ids)).order_by(col(OnlineRequest.submitted_at))
        )).all()
        wishes = (await session.execute(
            select(WaitlistWish, Office, Service)
            .join(Office, col(Office.id) == col(WaitlistWish.office_id))
            .join(Service, col(Service.id) == col(WaitlistWish.service_id))
            .where(col(WaitlistWish.id).in_(wish_ids)).order_by(col(WaitlistWish.created_at))
        )).all()
        session.expunge_all()  # the read-only transaction's rollback would expire them
    items = [_appointment_item(env, t, a, o, s) for a, o, s in appointments
             if appointment_open(a, now)]
    items += [_request_item(env, t, c, r, o, s) for c, r, o, s in requests if request_open(r)]
    items += [_wish_item(env, t, w, o, s) for w, o, s in wishes if wish_open(w)]
    return items


async def send_links_mail(env: MailEnv, job: Job) -> None:
    """Handler for ``mail.links`` jobs."""
    data = job.data()
    appointment_ids, request_ids = _ids(data, "appointment_ids"), _ids(data, "request_ids")
    t = env.i18n.translator(str(data.get("locale", "de")))
    items = await _items(env, t, appointment_ids, request_ids, _ids(data, "wish_ids"))
    if not items:
        log.info("job %s: nothing open any more, links mail skipped", job.id)
        return
    latest = max(items, key=lambda item: item.since)
    digest = hashlib.sha256(f"links:{job.id}:{job.payload}".encode()).hexdigest()[:16]
    message = compose(
        env, t, "links/resend", subject=t.gettext("Your links to your appointments and requests"),
        office=latest.office, to=(latest.name, latest.email),
        message_id=f"<job-{job.id}.{digest}@{mail_domain(env.base_url)}>",
        citizen_name=latest.name, items=items)
    await deliver(env, finish(message, t), "links")
