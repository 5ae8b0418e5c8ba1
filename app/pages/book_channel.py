"""The booking flow's channel step ("How would you like to meet?") and what the channel changes
in the other steps: the phone number becomes required for a phone appointment, the summary
names the channel.

The step is shown only for a service offered by more than one channel (``booking.channels``);
a service with one channel takes it without asking. The choice travels as the query parameter
``channel`` like the flow's other choices (``app.pages.citizen_forms.Choice``).
"""

from __future__ import annotations

from typing import Any

from app.pages.citizen_forms import Choice, DetailsForm
from booking.channels import CHANNEL_LABELS, Channel, offered
from booking.models import Office, Service
from core.i18n import Translator
from core.messages import N_

STEP_CHANNEL = N_("How")
CHOOSE = N_("Choose how you would like to meet us.")
HINTS: dict[str, str] = {
    Channel.video: N_("A video call in your browser, on a computer, tablet or smartphone."),
    Channel.onsite: N_("You come to the office: %(address)s"),
    Channel.phone: N_("We call you at the time of the appointment."),
}


def asks(service: Service) -> bool:
    """Whether the flow asks for the channel (more than one to choose from)."""
    return len(offered(service)) > 1


def resolve(choice: Choice, service: Service) -> str | None:
    """The chosen channel, the only one, or None while a choice is needed."""
    channels = offered(service)
    if len(channels) == 1:
        return channels[0]
    return choice.channel if choice.channel in channels else None


def error(t: Translator, choice: Choice) -> str:
    """The step's error: none on a first visit, "choose" once its form was sent."""
    sent = choice.step == "channel" or "channel" in choice.bad or choice.channel is not None
    return t.gettext(CHOOSE) if sent else ""


def options(t: Translator, service: Service, office: Office) -> list[dict[str, Any]]:
    address = ", ".join(line for line in office.address.splitlines() if line.strip())
    return [
        {"value": channel, "title": t.gettext(CHANNEL_LABELS[channel]),
         "hint": t.gettext(HINTS[channel], address=address or office.name)}
        for channel in offered(service)
    ]


def label(t: Translator, channel: str) -> str:
    return t.gettext(CHANNEL_LABELS.get(channel, channel))


def needs_phone(channel: str, details: DetailsForm) -> bool:
    """A phone appointment without the number to call: the form's phone field is required."""
    return channel == Channel.phone and not details.phone
