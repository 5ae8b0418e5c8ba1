"""The calendar file (iCalendar, RFC 5545 / iTIP RFC 5546) sent with appointment e-mails.

Times are written as local wall time with ``TZID`` and a ``VTIMEZONE`` built from the office's
IANA zone (``icalendar.Timezone.from_tzinfo``), so a calendar shows the same time as the office
even across a DST changeover. The UID never changes for an appointment and ``SEQUENCE`` grows with
every change, so clients update (or on ``METHOD:CANCEL`` remove) the entry instead of adding one.

The booking domain cannot reach the app's message catalogues, so the few words used here are in
a small table below (German default, English).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

from booking.models import Appointment, AppointmentStatus, Office, Service
from core.i18n import uses_english_data
from core.types import utcnow

METHODS = ("REQUEST", "CANCEL")
PRODID = "-//Buergerbuero per Video//Termine//DE"

_TEXT: dict[str, dict[str, str]] = {
    "de": {
        "summary": "Video-Termin: {service}",
        "video": "Video-Termin",
        "office": "Bürgerbüro: {office}",
        "service": "Anliegen: {service}",
        "reference": "Vorgangsnummer: {reference}",
        "link": "Ihr Termin-Link (bestätigen, absagen, verschieben, teilnehmen):",
        "prepare": (
            "Bitte halten Sie bereit: Personalausweis oder Reisepass, ein Gerät mit Kamera und "
            "Mikrofon, einen ruhigen Ort."
        ),
        "cancelled": "Dieser Termin wurde abgesagt.",
        "alarm": "Ihr Video-Termin beginnt bald.",
        # On site and by phone (``booking.channels``):
        "summary_onsite": "Termin vor Ort: {service}",
        "onsite": "Termin vor Ort",
        "prepare_onsite": "Bitte bringen Sie mit: Personalausweis oder Reisepass.",
        "summary_phone": "Telefontermin: {service}",
        "phone": "Telefontermin",
        "prepare_phone": "Wir rufen Sie unter {number} an.",
        "alarm_other": "Ihr Termin beginnt bald.",
    },
    "en": {
        "summary": "Video appointment: {service}",
        "video": "Video appointment",
        "office": "Citizens' office: {office}",
        "service": "Service: {service}",
        "reference": "Reference: {reference}",
        "link": "Your appointment link (confirm, cancel, reschedule, join):",
        "prepare": (
            "Please have ready: your ID card or passport, a device with camera and microphone, "
            "a quiet place."
        ),
        "cancelled": "This appointment has been cancelled.",
        "alarm": "Your video appointment starts soon.",
        "summary_onsite": "Appointment at the office: {service}",
        "onsite": "Appointment at the office",
        "prepare_onsite": "Please bring: your ID card or passport.",
        "summary_phone": "Phone appointment: {service}",
        "phone": "Phone appointment",
        "prepare_phone": "We call you on {number}.",
        "alarm_other": "Your appointment starts soon.",
    },
}


def method_for(appointment: Appointment) -> str:
    """The iTIP method that fits the appointment's state (for downloads of the calendar file)."""
    if appointment.status in (AppointmentStatus.cancelled, AppointmentStatus.expired):
        return "CANCEL"
    return "REQUEST"


def service_name(service: Service, lang: str) -> str:
    if uses_english_data(lang) and service.name_en:
        return service.name_en
    return service.name


def build_ics(
    appointment: Appointment,
    office: Office,
    service: Service,
    *,
    method: str,
    link_url: str | None,
    lang: str,
    organizer: str | None = None,
    now: datetime | None = None,
    town: str = "",
) -> bytes:
    """One VEVENT for the appointment; ``method`` is ``"REQUEST"`` or ``"CANCEL"``.

    ``organizer`` is the sender's address (``settings.mail_from``); without it the office's
    e-mail is used when it has one. ``town``: the municipality's name, where an installation
    serves several (it then follows the office's name).
    """
    if method not in METHODS:
        raise ValueError(f"unsupported iTIP method {method!r}")
    words = _TEXT.get(lang, _TEXT["de"])
    zone = ZoneInfo(office.timezone)
    start = appointment.start_at.astimezone(zone)
    end = appointment.end_at.astimezone(zone)
    name = service_name(service, lang)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add_component(_vtimezone(office.timezone, start.year))

    event = Event()
    event.add("uid", appointment.ics_uid)
    event.add("sequence", appointment.ics_sequence)
    event.add("dtstamp", (now or utcnow()))
    event.add("created", appointment.created_at)
    event.add("last-modified", appointment.updated_at)
    # Aware datetimes in a zoneinfo zone are written as local time with TZID=<zone key>.
    event.add("dtstart", start)
    event.add("dtend", end)
    channel = appointment.channel
    summary = words.get(f"summary_{channel}", words["summary"])
    event.add("summary", summary.format(service=name))
    event.add("description", _description(words, appointment, office, name, link_url, method,
                                           service.bring, town))
    event.add("location", _location(words, appointment, office, link_url))
    if link_url:
        event.add("url", link_url)
    if method == "CANCEL":
        status = "CANCELLED"
    elif appointment.status == "reserved":
        status = "TENTATIVE"  # held, waiting for the citizen's confirmation
    else:
        status = "CONFIRMED"
    event.add("status", status)
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")

    organizer_address = organizer or office.email
    if organizer_address:
        org = vCalAddress(f"mailto:{organizer_address}")
        org.params["cn"] = vText(f"{office.name} – {town}" if town else office.name)
        event.add("organizer", org)
    attendee = vCalAddress(f"mailto:{appointment.email}")
    attendee.params["cn"] = vText(f"{appointment.given_name} {appointment.family_name}".strip())
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)

    if method == "REQUEST":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", words["alarm" if channel == "video" else "alarm_other"])
        alarm.add("trigger", timedelta(minutes=-15))
        event.add_component(alarm)

    cal.add_component(event)
    return bytes(cal.to_ical())


def calendar_download(
    appointment: Appointment,
    office: Office,
    service: Service,
    *,
    link_url: str,
    lang: str,
    mail_from: str,
    town: str = "",
) -> tuple[bytes, str]:
    """The appointment as a download from the link page and ``GET /api/v1/me/calendar.ics``:
    the calendar file as the mails carry it (the sender's address as organizer, the method the
    appointment's state calls for) and its file name."""
    body = build_ics(
        appointment, office, service, method=method_for(appointment), link_url=link_url,
        lang=lang, organizer=parseaddr(mail_from)[1] or None, town=town,
    )
    return body, f"termin-{appointment.reference}.ics"


def _description(
    words: dict[str, str],
    appointment: Appointment,
    office: Office,
    name: str,
    link_url: str | None,
    method: str,
    bring: str = "",
    town: str = "",
) -> str:
    channel = appointment.channel if appointment.channel in ("onsite", "phone") else "video"
    lines: list[str] = []
    if method == "CANCEL":
        lines += [words["cancelled"], ""]
    lines += [
        words[channel],
        words["service"].format(service=name),
        words["office"].format(office=f"{office.name} – {town}" if town else office.name),
        words["reference"].format(reference=appointment.reference),
    ]
    if link_url:
        lines += ["", words["link"], link_url]
    if method == "REQUEST" and channel == "onsite":
        lines += ["", words["prepare_onsite"], *bring.splitlines()]
    elif method == "REQUEST" and channel == "phone":
        lines += ["", words["prepare_phone"].format(number=appointment.phone)]
    elif method == "REQUEST":
        lines += ["", words["prepare"]]
    return "\n".join(lines)


def _location(words: dict[str, str], appointment: Appointment, office: Office,
              link_url: str | None) -> str:
    """Where: the office's address on site, the number we call by phone, else the link."""
    if appointment.channel == "onsite":
        return ", ".join([office.name, *(line.strip() for line in office.address.splitlines()
                                         if line.strip())])
    if appointment.channel == "phone":
        return f"{words['phone']}: {appointment.phone}"
    return link_url or f"{words['video']} – {office.name}"


def _vtimezone(zone: str, year: int) -> Timezone:
    """VTIMEZONE for ``zone`` from the year before the appointment to three years on.

    The span covers the appointment and any reschedule within the booking horizon while keeping
    the mail small.
    """
    tz = ZoneInfo(zone)
    component = Timezone.from_tzinfo(
        tz, zone, first_date=date(year - 1, 1, 1), last_date=date(year + 3, 1, 1)
    )
    for sub in component.subcomponents:
        _fix_onsets(sub, tz)
    return component


def _fix_onsets(sub: Component, tz: ZoneInfo) -> None:
    """Write each observance onset as wall time in TZOFFSETFROM, as RFC 5545 §3.6.5 requires.

    ``from_tzinfo`` writes the first wall time after a spring-forward change (03:00 instead of
    02:00 in Europe/Berlin), which strict readers place an hour late. Each onset is checked
    against the zone's real transition instead of relying on that convention.
    """
    if not isinstance(sub, TimezoneStandard | TimezoneDaylight):
        return
    offset_from = sub.decoded("TZOFFSETFROM")
    offset_to = sub.decoded("TZOFFSETTO")
    assert isinstance(offset_from, timedelta) and isinstance(offset_to, timedelta)
    if offset_from == offset_to:
        return  # the opening observance: no transition
    onsets = [sub.decoded("DTSTART"), *(when for when, _ in sub.rdates)]
    fixed = [_onset_in_from(onset, offset_from, offset_to, tz) for onset in onsets]
    sub.pop("DTSTART")
    sub.pop("RDATE", None)
    sub.add("DTSTART", fixed[0])
    if fixed[1:]:
        sub.add("RDATE", fixed[1:])


def _onset_in_from(onset: datetime, offset_from: timedelta, offset_to: timedelta,
                   tz: ZoneInfo) -> datetime:
    local = onset.replace(tzinfo=None)
    for candidate in (local - offset_to, local - offset_from):
        instant = candidate.replace(tzinfo=UTC)
        before = (instant - timedelta(seconds=1)).astimezone(tz).utcoffset()
        after = instant.astimezone(tz).utcoffset()
        if before == offset_from and after == offset_to:
            return candidate + offset_from
    return local
