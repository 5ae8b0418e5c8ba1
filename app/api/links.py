"""What a citizen's link (``/t/{token}``, ``Authorization: Bearer``) opens: an appointment or an
online request, and the request's decided case. One lookup for the API, the pages, documents and
payments, so a request sent online has its fee notice and online payment exactly as a video
request has.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.settings import Settings
from booking.models import Appointment
from booking.service import BookingPolicy, find_by_token
from cases.completion import case_of
from cases.models import Case, CaseState
from core.errors import Conflict
from online.requests import Held, RequestPolicy
from online.requests import find_by_token as find_request


class NotAnAppointment(Conflict):
    code = "not_an_appointment"
    message = ("This link belongs to an online request, not to an appointment. "
               "Please open your request page.")


@dataclass(frozen=True)
class Link:
    appointment: Appointment | None
    request: Held | None
    case: Case | None  # the decided case (completed or reopened), if any

    @property
    def completed(self) -> Case | None:
        """The case as the citizen sees it: only while completed (a reopened case is being
        redone by the office)."""
        return self.case if self.case is not None and self.case.state == CaseState.completed \
            else None

    def as_appointment(self) -> Appointment:
        if self.appointment is None:
            raise NotAnAppointment()
        return self.appointment


def policy_from(settings: Settings) -> BookingPolicy:
    """The booking rules of this installation, taken from the settings."""
    return BookingPolicy(
        require_confirmation=settings.require_email_confirmation,
        hold_minutes=settings.hold_minutes,
        max_active_per_email=settings.max_active_bookings_per_email,
        link_grace_days=settings.link_grace_days,
        reminder_hours=settings.reminder_hours,
    )


def request_policy(settings: Settings) -> RequestPolicy:
    return RequestPolicy(
        require_confirmation=settings.require_email_confirmation,
        confirm_within_hours=settings.request_confirm_hours,
        max_open_per_email=settings.max_open_requests_per_email,
        link_grace_days=settings.link_grace_days,
    )


async def open_link(session: AsyncSession, state: AppContext, token: str) -> Link:
    """The link's appointment or request; ``Unauthorized`` for an unknown or lapsed token."""
    held = await find_request(session, state.links, request_policy(state.settings), token)
    if held is not None:
        decided = held.case if held.case.state != CaseState.open else None
        return Link(appointment=None, request=held, case=decided)
    appointment = await find_by_token(session, state.links, token)
    assert appointment.id is not None
    return Link(appointment=appointment, request=None,
                case=await case_of(session, appointment.id))
