"""The booking rules of this installation, taken from the settings."""

from __future__ import annotations

from app.settings import Settings
from booking.service import BookingPolicy


def policy_from(settings: Settings) -> BookingPolicy:
    return BookingPolicy(
        require_confirmation=settings.require_email_confirmation,
        hold_minutes=settings.hold_minutes,
        max_active_per_email=settings.max_active_bookings_per_email,
        link_grace_days=settings.link_grace_days,
        reminder_hours=settings.reminder_hours,
    )
