"""Domain errors. Each carries its HTTP status and a stable code; one handler renders them.

``message`` is an English message id; the app translates it into the request's language
(the German catalogue is the default), filling ``params`` in.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request cannot be processed."

    def __init__(self, message: str | None = None, *, field: str | None = None, **params: Any):
        self.msgid = message or self.message
        self.field = field
        self.params = params
        self.details: list[dict[str, str]] = []
        # Several fields' problems at once: (field, message id, params), translated when shown.
        self.problems: list[tuple[str, str, dict[str, Any]]] = []
        super().__init__(self.msgid % params if params else self.msgid)

    def add(self, field: str, msgid: str, **params: Any) -> None:
        self.problems.append((field, msgid, params))


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class Invalid(DomainError):
    status = 422
    code = "validation_error"
    message = "The input is not valid."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "This conflicts with the current state."


class SlotTaken(Conflict):
    code = "slot_taken"
    message = "This time slot has just been taken. Please choose another one."


class NotASlot(DomainError):
    status = 422
    code = "not_a_slot"
    message = "This time is not a bookable slot for this service."


class TooManyBookings(Conflict):
    code = "too_many_bookings"
    message = "This e-mail address already has the maximum number of open appointments."


class AlreadyBooked(Conflict):
    """The same address already holds this very slot (the booking form sent twice)."""

    code = "already_booked"
    message = ("You have already booked this time with this e-mail address. The e-mail with "
               "your link is on its way.")

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference  # for the page of the browser that booked it, not for others


class WrongState(Conflict):
    code = "wrong_state"
    message = "This is not possible in the appointment's current state."


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "Authentication is required or the link is invalid."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    message = "Too many requests. Please wait a moment and try again."


class HoldExpired(Conflict):
    """A reserved appointment was not confirmed within its hold time."""

    code = "hold_expired"
    message = (
        "This reservation has expired because it was not confirmed in time. "
        "Please book a new appointment."
    )
