"""What the privacy rules share (``privacy.service`` for appointments, ``privacy.requests`` for
requests sent online): how anonymised data reads, and the legal holds that keep a request's
personal data (see ``privacy.service``'s docstring)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import ACTIVE_STATUSES, Appointment
from cases.models import Case, PaymentStatus
from online.models import OPEN_STATUSES, OnlineRequest
from postcall.dispatch_models import Dispatch, DispatchState

ANONYMISED_NAME = "anonymisiert"
PLACEHOLDER_DOMAIN = "anonymisiert.invalid"
OPEN_PAYMENTS = (PaymentStatus.open, PaymentStatus.failed)
PENDING_DISPATCH = (DispatchState.queued, DispatchState.printed)

# Why personal data is kept, by code: English message ids (translated in privacy.po).
HOLD_REASONS = {
    "active": "The appointment is still running; cancel it first.",
    "request_open": "The request sent online is still being processed: it has to be decided "
                    "or withdrawn first.",
    "fee_open": "The fee has not been paid yet: the debtor's data is needed to collect it "
                "(fee law).",
    "dispatch_pending": "A letter is still on its way to the citizen.",
}


async def case_hold_reason(session: AsyncSession, case: Case, *,
                           except_appointment: int | None = None) -> str | None:
    """Why the personal data of the request ``case`` must be kept now, or None: an appointment
    of it still running (other than ``except_appointment``), the request sent online still
    open, its fee unpaid, or a letter of it on its way."""
    running = select(col(Appointment.id)).where(
        col(Appointment.case_id) == case.id, col(Appointment.status).in_(ACTIVE_STATUSES))
    if except_appointment is not None:
        running = running.where(col(Appointment.id) != except_appointment)
    if (await session.execute(running)).first() is not None:
        return "active"
    request = await session.get(OnlineRequest, case.id)
    if request is not None and request.status in OPEN_STATUSES:
        return "request_open"
    if case.payment_status in OPEN_PAYMENTS:
        return "fee_open"
    pending = select(col(Dispatch.id)).where(
        col(Dispatch.case_id) == case.id, col(Dispatch.status).in_(PENDING_DISPATCH)
    )
    if (await session.execute(pending)).first() is not None:
        return "dispatch_pending"
    return None
