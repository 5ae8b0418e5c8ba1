"""What an appointment mail says about its channel (``booking.channels``): the subject of an
appointment on site or by phone (the video call's subjects stay in ``mail.appointments``), and
the template values for where to come and what to bring, or the number we call."""

from __future__ import annotations

from typing import Any

from booking.channels import CHANNEL_LABELS, Channel
from booking.models import Appointment, Service
from core.i18n import Translator


def channel_subject(t: Translator, template: str, *, date: str, time: str,
                    reference: str) -> str:
    subjects = {
        "hold": t.gettext("Please confirm your appointment (%(reference)s)",
                          reference=reference),
        "confirmed": t.gettext("Your appointment on %(date)s is confirmed", date=date),
        "rescheduled": t.gettext("Your appointment has been moved to %(date)s", date=date),
        "cancelled": t.gettext("Your appointment on %(date)s has been cancelled", date=date),
        "expired": t.gettext("Your appointment request has expired"),
        "reminder": t.gettext("Reminder: your appointment on %(date)s at %(time)s",
                              date=date, time=time),
    }
    return subjects[template]


def channel_context(t: Translator, appointment: Appointment, service: Service
                    ) -> dict[str, Any]:
    channel = appointment.channel
    return {
        "channel": channel,
        "channel_label": t.gettext(CHANNEL_LABELS.get(channel, channel)),
        "bring_lines": [line.strip() for line in service.bring.splitlines() if line.strip()]
        if channel == Channel.onsite else [],
        "phone": appointment.phone if channel == Channel.phone else "",
    }
