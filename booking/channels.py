"""How the citizen and the clerk meet: by video, on site at the office, or by phone.

A service says which channels it is offered by (``Service.video``, ``.onsite``, ``.phone``; a
service with none is not bookable, ``booking.catalog.BOOKABLE``). A schedule's seats serve
every channel of its services (``Schedule.channel`` is None: shared capacity) or one channel
only. Availability and booking for a channel use the schedules that serve it; seats are counted
per schedule as always, so a shared schedule's seat taken by a phone appointment is gone for
video too, while a phone-only schedule's seat never serves video.

An appointment carries its channel (``Appointment.channel``). Only video appointments have a
call: the call token, the call page and the signalling hub refuse the others (``NotACall``);
an on-site or phone appointment is worked at the clerk's desk without video.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from booking.models import Appointment, Schedule, Service
from core.errors import Conflict, Invalid
from core.messages import N_


class Channel(StrEnum):
    video = "video"
    onsite = "onsite"
    phone = "phone"


CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)

# Names for people (message ids), in the order the booking offers them.
CHANNEL_LABELS: dict[str, str] = {
    Channel.video: N_("By video"),
    Channel.onsite: N_("On site at the office"),
    Channel.phone: N_("By phone"),
}
NOT_OFFERED: dict[str, str] = {
    Channel.video: N_("This service is not offered by video."),
    Channel.onsite: N_("This service is not offered on site."),
    Channel.phone: N_("This service is not offered by phone."),
}
SHARED_CHANNELS = N_("Shared by every channel of its services")
UNKNOWN_CHANNEL = N_("Please choose a channel: video, onsite or phone.")
PHONE_NEEDED = N_("Please enter the phone number we should call you on.")


class NotACall(Conflict):
    """The appointment is on site or by phone: there is no video call to join."""

    code = "not_a_call"
    message = "This appointment is not a video call: there is no call to join."


def offered_names(video: bool, onsite: bool, phone: bool) -> list[str]:
    """The channels of a service's three flags, in the usual order."""
    flags = {Channel.video: video, Channel.onsite: onsite, Channel.phone: phone}
    return [channel.value for channel, on in flags.items() if on]


def offered(service: Service) -> list[str]:
    """The channels ``service`` is offered by, in the usual order."""
    return offered_names(service.video, service.onsite, service.phone)


def default_channel(service: Service) -> str:
    """Video where offered, else the first channel offered (video for a service with none)."""
    channels = offered(service)
    return channels[0] if channels else Channel.video.value


def _checked(offers: Sequence[str], channel: str | None) -> str:
    value = (offers[0] if offers else Channel.video.value) if channel is None else channel
    if value not in CHANNELS:
        raise Invalid(UNKNOWN_CHANNEL, field="channel")
    if value not in offers:
        raise Invalid(NOT_OFFERED[value], field="channel")
    return value


def offered_channel(service: Service, channel: str | None) -> str:
    """``channel`` checked against the service (``None``: its default); ``Invalid`` for one
    the service is not offered by."""
    return _checked(offered(service), channel)


def chosen(offers: Sequence[str], channel: str | None, phone: str) -> str:
    """The channel of a booking among the service's ``offers`` (``offered_channel``);
    ``Invalid`` for a phone appointment without a number to call."""
    value = _checked(offers, channel)
    if value == Channel.phone and not phone.strip():
        raise Invalid(PHONE_NEEDED, field="citizen.phone")
    return value


def serves(channel: str) -> ColumnElement[bool]:
    """Schedules whose seats serve ``channel``: shared ones and the channel's own."""
    return or_(col(Schedule.channel).is_(None), col(Schedule.channel) == channel)


def opening_serves(schedule_channel: str | None, channel: str) -> bool:
    """``serves`` for a schedule already read."""
    return schedule_channel is None or schedule_channel == channel


def work_page(reference: str, channel: str) -> str:
    """Where the clerk works an appointment: the call page for video, the desk page (no video)
    on site and by phone."""
    return f"/staff/{'call' if channel == Channel.video else 'desk'}/{reference}"


def is_call(appointment: Appointment) -> bool:
    return appointment.channel == Channel.video


def require_call(appointment: Appointment) -> None:
    """``NotACall`` (409) unless the appointment is a video call."""
    if not is_call(appointment):
        raise NotACall()
