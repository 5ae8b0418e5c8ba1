"""Display helpers shared by the citizen pages (no writes, no Starlette); their queries are
``booking.catalog`` and ``booking.lookup``, shared with the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.pages.citizen_forms import Choice, slot_value
from booking.availability import Slot, zone
from booking.catalog import service_description, service_name
from booking.channels import CHANNEL_LABELS, Channel
from booking.models import Appointment, AppointmentStatus, Office, Service
from booking.service import allowed_actions, hold_lapsed
from calls.service import join_window
from core.i18n import Translator
from core.messages import N_
from core.types import utcnow

# --- display helpers --------------------------------------------------------------------------


def fee_text(t: Translator, service: Service) -> str:
    if service.fee_cents <= 0:
        return t.gettext("Free of charge")
    return t.money(service.fee_cents, service.currency)


def duration_text(t: Translator, service: Service) -> str:
    return t.gettext("about %(minutes)s minutes", minutes=service.duration_minutes)


def service_option(t: Translator, service: Service) -> dict[str, Any]:
    return {
        "value": service.id,
        "title": service_name(service, t.lang),
        "hint": t.gettext("%(duration)s · Fee: %(fee)s",
                          duration=duration_text(t, service), fee=fee_text(t, service)),
    }


def local_day(value: datetime, office: Office) -> date:
    return value.astimezone(zone(office.timezone)).date()


def zone_note(t: Translator, office: Office) -> str:
    """Citizens read times as their own; say so only when the office is not on German time."""
    if office.timezone == "Europe/Berlin":
        return ""
    return t.gettext("All times are local times of the office (%(zone)s).", zone=office.timezone)


def time_range(t: Translator, start: datetime, end: datetime, tz: str) -> str:
    return t.gettext("%(start)s – %(end)s", start=t.time(start, tz), end=t.time(end, tz))


def day_option(t: Translator, day: date) -> dict[str, Any]:
    return {"value": day.isoformat(), "title": t.date(day, "full")}


DAYS_PER_PAGE = 10


def day_list(t: Translator, choice: Choice, days: list[date], today: date,
             page_url: Callable[[date], str]) -> tuple[dict[str, Any], int]:
    """The day step of booking and of moving: a page of the free ``days`` from the one asked
    for (``page_url`` links the pages before and after), and why the chosen day cannot be
    taken; with the page's status (422 with an error)."""
    error = ""
    if choice.day is not None or "day" in choice.bad:
        error = t.gettext("There are no free times on this day. Please choose another day.")
    elif choice.step == "day":
        error = t.gettext("Choose a day.")
    page_from = choice.page_from or today
    first = next((i for i, d in enumerate(days) if d >= page_from), len(days))
    last = first + DAYS_PER_PAGE
    return {
        "error": error, "selected": None, "no_days": not days,
        "options": [day_option(t, d) for d in days[first:last]],
        "prev_href": page_url(days[max(0, first - DAYS_PER_PAGE)]) if first > 0 else "",
        "next_href": page_url(days[last]) if last < len(days) else "",
    }, 422 if error else 200


MORNING = N_("Morning")
AFTERNOON = N_("Afternoon")
EVENING = N_("Evening")
GROUP_IDS = {MORNING: "morning", AFTERNOON: "afternoon", EVENING: "evening"}


def _part_of_day(hour: int) -> str:
    return MORNING if hour < 12 else AFTERNOON if hour < 18 else EVENING


def slot_groups(t: Translator, slots: list[Slot], office: Office) -> list[dict[str, Any]]:
    """Slots as radio options, grouped into morning, afternoon and evening (from 18:00),
    office-local time."""
    tz: ZoneInfo = zone(office.timezone)
    groups: dict[str, list[dict[str, Any]]] = {MORNING: [], AFTERNOON: [], EVENING: []}
    for slot in slots:
        key = _part_of_day(slot.start.astimezone(tz).hour)
        groups[key].append({
            "value": slot_value(slot.start),
            "title": t.time(slot.start, office.timezone),
        })
    return [
        {"id": GROUP_IDS[key], "label": t.gettext(key),
         "options": options}
        for key, options in groups.items()
        if options
    ]


# --- the appointment as the citizen sees it -------------------------------------------------------

# status -> (label, badge kind); "expired" also covers a lapsed hold the worker has not swept yet.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    AppointmentStatus.reserved: (N_("Reserved – please confirm"), "warning"),
    AppointmentStatus.confirmed: (N_("Confirmed"), "success"),
    AppointmentStatus.in_call: (N_("Video call in progress"), "info"),
    AppointmentStatus.completed: (N_("Completed"), "neutral"),
    AppointmentStatus.no_show: (N_("Missed"), "danger"),
    AppointmentStatus.cancelled: (N_("Cancelled"), "danger"),
    AppointmentStatus.expired: (N_("Expired – not confirmed in time"), "danger"),
}


@dataclass
class AppointmentView:
    reference: str
    status: str
    status_label: str
    status_kind: str
    date: str
    time: str
    service: str
    service_description: str
    duration: str
    fee: str
    office: str
    office_address: str
    email: str
    hold_until: str
    hold_until_iso: str
    join_opens: str
    join_closes: str
    can_confirm: bool
    can_cancel: bool
    can_reschedule: bool
    can_calendar: bool
    is_upcoming: bool
    join_open: bool  # the video room is open now (within the join window)
    persons: list[str] = field(default_factory=list)  # of a family appointment (party_form)
    # How the citizen and the clerk meet (``booking.channels``): only video has a call.
    channel: str = "video"
    channel_label: str = ""
    bring: str = ""  # what to bring, for an on-site appointment
    phone: str = ""  # the number the clerk calls, for a phone appointment

    @property
    def ended(self) -> bool:
        return self.status in ("cancelled", "expired", "no_show")


def appointment_view(
    t: Translator,
    appointment: Appointment,
    office: Office,
    service: Service,
    *,
    join_before_minutes: int,
    join_after_minutes: int,
    now: datetime | None = None,
) -> AppointmentView:
    now = now or utcnow()
    tz = office.timezone
    status = str(appointment.status)
    if hold_lapsed(appointment, now):
        status = AppointmentStatus.expired
    label, kind = STATUS_LABELS.get(status, (status, "neutral"))
    actions = allowed_actions(appointment, now)
    window = join_window(appointment, join_before_minutes, join_after_minutes)
    opens, closes = window.opens_at, window.closes_at
    hold = appointment.hold_expires_at if status == AppointmentStatus.reserved else None
    return AppointmentView(
        reference=appointment.reference,
        status=status,
        status_label=t.gettext(label),
        status_kind=kind,
        date=t.date(local_day(appointment.start_at, office), "full"),
        time=time_range(t, appointment.start_at, appointment.end_at, tz),
        service=service_name(service, t.lang),
        service_description=service_description(service, t.lang),
        duration=duration_text(t, service),
        fee=fee_text(t, service),
        office=office.name,
        office_address=office.address,
        email=appointment.email,
        hold_until=t.time(hold, tz) if hold else "",
        hold_until_iso=hold.isoformat() if hold else "",
        join_opens=t.gettext("%(date)s at %(time)s",
                             date=t.date(local_day(opens, office), "full"), time=t.time(opens, tz)),
        join_closes=t.time(closes, tz),
        can_confirm=actions.can_confirm,
        can_cancel=actions.can_cancel,
        can_reschedule=actions.can_reschedule,
        can_calendar=status in (AppointmentStatus.confirmed, AppointmentStatus.in_call)
        and now < appointment.end_at,
        is_upcoming=status in (AppointmentStatus.reserved, AppointmentStatus.confirmed)
        and now < appointment.end_at,
        join_open=status in (AppointmentStatus.confirmed, AppointmentStatus.in_call)
        and opens <= now < closes,
        channel=appointment.channel,
        channel_label=t.gettext(CHANNEL_LABELS.get(appointment.channel, appointment.channel)),
        bring=service.bring if appointment.channel == Channel.onsite else "",
        phone=appointment.phone if appointment.channel == Channel.phone else "",
    )

