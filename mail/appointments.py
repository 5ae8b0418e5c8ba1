"""Appointment e-mails: one ``EmailMessage`` per template, and the outbox job that sends them.

Each message is multipart/alternative (plain text and accessible HTML from
``mail/templates/appointment/``) in the booking's language, with the calendar file attached
where the appointment is on (``METHOD:REQUEST``) or off (``METHOD:CANCEL``) the citizen's
calendar.

The job payload is ``{"appointment_id", "template", "sequence"}`` (see ``core/jobs.py``). The
link is rebuilt from the appointment's nonce here, so no token is ever stored in a job row.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from booking.channels import Channel
from booking.composition import Party, party_of
from booking.ics import build_ics, service_name
from booking.models import Appointment, AppointmentStatus, Office, Service
from core.i18n import Translator
from core.jobs import Job
from core.types import utcnow
from mail.channels import channel_context, channel_subject
from mail.compose import MailEnv, PermanentMailError, compose, deliver, finish, mail_domain

log = logging.getLogger("buergerbuero.mail")

JOB_KIND = "mail.appointment"
TEMPLATES = ("hold", "confirmed", "rescheduled", "cancelled", "expired", "reminder")
# Templates that carry the calendar file, with its iTIP method.
ICS_METHODS = {
    # The held slot goes into the calendar at once, marked tentative until confirmed.
    "hold": "REQUEST",
    "confirmed": "REQUEST",
    "rescheduled": "REQUEST",
    "reminder": "REQUEST",
    "cancelled": "CANCEL",
    # The lapsed hold's tentative entry leaves the citizen's calendar too.
    "expired": "CANCEL",
}
ICS_FILENAME = "termin.ics"


def _subject(t: Translator, template: str, *, date: str, time: str, reference: str,
             channel: str = Channel.video) -> str:
    if channel != Channel.video:
        return channel_subject(t, template, date=date, time=time, reference=reference)
    subjects = {
        "hold": t.gettext("Please confirm your video appointment (%(reference)s)",
                          reference=reference),
        "confirmed": t.gettext("Your video appointment on %(date)s is confirmed", date=date),
        "rescheduled": t.gettext("Your video appointment has been moved to %(date)s", date=date),
        "cancelled": t.gettext("Your video appointment on %(date)s has been cancelled",
                               date=date),
        "expired": t.gettext("Your appointment request has expired"),
        "reminder": t.gettext("Reminder: your video appointment on %(date)s at %(time)s",
                              date=date, time=time),
    }
    return subjects[template]


def message_id_for_job(job_id: int, appointment: Appointment, base_url: str) -> str:
    """A Message-ID that is the same on every attempt of one job (a retry is recognisably the
    same message), yet unguessable and unique across installations sharing a domain."""
    digest = hashlib.sha256(f"{appointment.ics_uid}:{job_id}".encode()).hexdigest()[:16]
    return f"<job-{job_id}.{digest}@{mail_domain(base_url)}>"


def build_mail(
    env: MailEnv,
    template: str,
    appointment: Appointment,
    office: Office,
    service: Service,
    *,
    link_url: str,
    message_id: str | None = None,
    now: datetime | None = None,
    party: Party | None = None,
) -> EmailMessage:
    """The complete message for one template, in the appointment's language; ``party``: the
    appointment's services and further people, when it has more than one of either."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    t = env.i18n.translator(appointment.locale)
    now = now or utcnow()
    context = _context(env, t, template, appointment, office, service, link_url)
    if party is not None:
        context.update(_party_context(t, appointment, party))
    message = compose(
        env, t, f"appointment/{template}", subject=context.pop("subject"),
        office=context.pop("office"),
        to=(context["citizen_name"], appointment.email), message_id=message_id, now=now,
        **context,
    )
    method = ICS_METHODS.get(template)
    if method is not None:
        organizer = parseaddr(env.mail_from)[1] or None
        ics = build_ics(
            appointment, office, service, method=method, link_url=link_url, lang=t.lang,
            organizer=organizer, now=now, town=env.town,
        )
        message.add_attachment(
            ics, maintype="text", subtype="calendar", filename=ICS_FILENAME,
            params={"method": method, "charset": "utf-8", "name": ICS_FILENAME},
        )
    return finish(message, t)


def _context(
    env: MailEnv,
    t: Translator,
    template: str,
    appointment: Appointment,
    office: Office,
    service: Service,
    link_url: str,
) -> dict[str, Any]:
    zone = ZoneInfo(office.timezone)
    local_start = appointment.start_at.astimezone(zone)
    start_time = t.time(appointment.start_at, office.timezone)
    end_time = t.time(appointment.end_at, office.timezone)
    short_date = t.date(local_start.date(), "medium")
    deadline = ""
    if appointment.hold_expires_at is not None:
        deadline = t.time(appointment.hold_expires_at, office.timezone)
    book_url = f"{env.base_url}/book"
    needs_confirmation = appointment.status == AppointmentStatus.reserved
    if template == "hold" or (template == "rescheduled" and needs_confirmation):
        action_url, action_label = link_url, t.gettext("Confirm appointment")
    elif template in ("cancelled", "expired"):
        action_url, action_label = book_url, t.gettext("Book a new appointment")
    else:
        action_url, action_label = link_url, t.gettext("Open my appointment")
    return {
        "template": template,
        "needs_confirmation": needs_confirmation,
        "active": template in ("hold", "confirmed", "rescheduled", "reminder"),
        "action_url": action_url,
        "action_label": action_label,
        "subject": _subject(t, template, date=short_date, time=start_time,
                            reference=appointment.reference, channel=appointment.channel),
        **channel_context(t, appointment, service),
        "citizen_name": f"{appointment.given_name} {appointment.family_name}".strip(),
        "service_name": service_name(service, t.lang),
        "matters_label": "",  # several services: _party_context
        "persons_text": "",
        "office": office,
        "date_text": t.date(local_start.date(), "full"),
        "time_text": t.gettext("%(start)s–%(end)s", start=start_time, end=end_time),
        "reference": appointment.reference,
        "link_url": link_url,
        "book_url": book_url,
        "hold_minutes": env.hold_minutes,
        "hold_deadline": deadline,
        "join_before_minutes": env.join_before_minutes,
        "ics_method": ICS_METHODS.get(template),
    }


def _party_context(t: Translator, appointment: Appointment, party: Party) -> dict[str, Any]:
    """Every service of the appointment, and every person it is for (names only: a date of
    birth has no place in an e-mail)."""
    names = [f"{appointment.given_name} {appointment.family_name}".strip(),
             *(f"{p.given_name} {p.family_name}".strip() for p in party.persons)]
    return {
        "service_name": ", ".join(service_name(s, t.lang) for s in party.services),
        "matters_label": t.gettext("Matters") if len(party.services) > 1 else "",
        "persons_text": ", ".join(names) if party.persons else "",
    }


# --- the outbox job --------------------------------------------------------------------------


def is_stale(template: str, appointment: Appointment, sequence: int) -> str | None:
    """Why a queued mail should no longer go out, or None to send it.

    A later change enqueues its own mail, so a superseded one is dropped rather than sent with
    contents that no longer hold (a confirmation for a meanwhile cancelled appointment, a
    reminder for a moved one).
    """
    status = appointment.status
    if template == "hold" and status != AppointmentStatus.reserved:
        return "no longer reserved"
    if template in ("confirmed", "reminder") and status != AppointmentStatus.confirmed:
        return "no longer confirmed"
    # A held (not yet confirmed) appointment can be moved too.
    if template == "rescheduled" and status not in (AppointmentStatus.reserved,
                                                    AppointmentStatus.confirmed):
        return "no longer active"
    versioned = template in ("confirmed", "rescheduled", "reminder")
    if versioned and appointment.ics_sequence != sequence:
        return "superseded by a later change"
    return None


async def send_appointment_mail(env: MailEnv, job: Job) -> None:
    """Handler for ``mail.appointment`` jobs."""
    data = job.data()
    template = str(data.get("template", ""))
    if template not in TEMPLATES:
        raise PermanentMailError(f"unknown mail template {template!r}")
    try:
        appointment_id = int(data["appointment_id"])
        sequence = int(data.get("sequence", 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentMailError("malformed mail job payload") from exc

    async with env.db.transaction() as session:
        appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            log.info("job %s: appointment %s is gone, mail %s skipped", job.id, appointment_id,
                     template)
            return
        office = await session.get(Office, appointment.office_id)
        service = await session.get(Service, appointment.service_id)
        party = await party_of(session, appointment)
        # The read-only transaction ends in a rollback, which would expire these rows.
        session.expunge_all()
    if office is None or service is None:
        raise PermanentMailError("appointment without office or service")

    reason = is_stale(template, appointment, sequence)
    if reason is not None:
        log.info("job %s: mail %s skipped (%s)", job.id, template, reason)
        return

    assert job.id is not None
    message = build_mail(
        env, template, appointment, office, service,
        link_url=env.link_url(appointment.link_nonce),
        message_id=message_id_for_job(job.id, appointment, env.base_url),
        party=party if len(party.services) > 1 or party.persons else None,
    )
    await deliver(env, message, template)
