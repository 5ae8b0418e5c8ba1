"""Citizen page input: the choices of the booking flow (query parameters) and the details form
with an error message per field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email

from booking.channels import CHANNELS
from booking.service import CitizenInput
from core.messages import N_
from core.types import parse_day as parse_iso_day

# --- choices of the booking flow ----------------------------------------------------------------


def parse_id(value: object) -> int | None:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
        return None
    number = int(value)
    return number if number > 0 else None


def parse_day(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso_day(value)
    except ValueError:
        return None


def parse_slot(value: object) -> datetime | None:
    """A slot start as sent by our forms (ISO 8601 with offset); aware UTC or None."""
    if not isinstance(value, str) or not 16 <= len(value) <= 32:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def parse_also(params: Mapping[str, Any]) -> tuple[int, ...]:
    """Further service ids (app/pages/party_form.py): repeated checkboxes or one
    comma-separated value."""
    getlist = getattr(params, "getlist", None)
    raw = list(getlist("also")) if getlist is not None else [params.get("also")]
    ids: list[int] = []
    for value in raw:
        for part in str(value or "").split(",")[:10]:
            parsed = parse_id(part)
            if parsed is not None and parsed not in ids:
                ids.append(parsed)
    return tuple(ids)


def parse_persons(params: Mapping[str, Any]) -> int:
    """How many people come (1 to 20)."""
    parsed = parse_id(params.get("persons"))
    return min(parsed, 20) if parsed is not None else 1


def parse_channel(value: object) -> str | None:
    return value if isinstance(value, str) and value in CHANNELS else None


def slot_value(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass
class Choice:
    """What the citizen has chosen so far; travels in query parameters (GET changes nothing)."""

    service_id: int | None = None
    office_id: int | None = None
    channel: str | None = None  # video, onsite, phone (``booking.channels``)
    day: date | None = None
    slot: datetime | None = None
    page_from: date | None = None
    # The step whose form was sent: a missing choice there is an error, not a first visit.
    step: str = ""
    # Parameters that were present but not valid (tampered or stale links).
    bad: set[str] = field(default_factory=set)
    # Further services and how many people come (app/pages/party_form.py).
    also: tuple[int, ...] = ()
    persons: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Choice:
        choice = cls(
            service_id=parse_id(params.get("service")),
            office_id=parse_id(params.get("office")),
            channel=parse_channel(params.get("channel")),
            day=parse_day(params.get("day")),
            slot=parse_slot(params.get("slot")),
            page_from=parse_day(params.get("from")),
            step=str(params.get("step") or "")[:20],
        )
        choice.also, choice.persons = parse_also(params), parse_persons(params)
        for name, parsed in (("service", choice.service_id), ("office", choice.office_id),
                             ("channel", choice.channel), ("day", choice.day),
                             ("slot", choice.slot)):
            if params.get(name) not in (None, "") and parsed is None:
                choice.bad.add(name)
        return choice

    def params(self, *, upto: str = "slot") -> dict[str, str]:
        """The query parameters of the choices up to and including ``upto``."""
        order = ("service", "office", "channel", "day", "slot")
        values: dict[str, str] = {}
        if self.service_id is not None:
            values["service"] = str(self.service_id)
            if self.also:
                values["also"] = ",".join(str(i) for i in self.also)
            if self.persons > 1:
                values["persons"] = str(self.persons)
        if self.office_id is not None and order.index(upto) >= 1:
            values["office"] = str(self.office_id)
        if self.channel is not None and order.index(upto) >= 2:
            values["channel"] = self.channel
        if self.day is not None and order.index(upto) >= 3:
            values["day"] = self.day.isoformat()
        if self.slot is not None and order.index(upto) >= 4:
            values["slot"] = slot_value(self.slot)
        return values

    def url(self, path: str = "/book", *, upto: str = "slot", **extra: str) -> str:
        query = {**self.params(upto=upto), **extra}
        return f"{path}?{urlencode(query)}" if query else path


# --- the details form ---------------------------------------------------------------------------

DETAIL_FIELDS = ("given_name", "family_name", "email", "phone", "date_of_birth", "consent")
_PHONE = re.compile(r"^\+?[0-9 ()/.-]{5,30}$")
# 31.12.1980, 31. 12. 1980, 31/12/1980, 31-12-1980: day first, as written in Germany.
_DOB_DAY_FIRST = re.compile(r"^(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{4})$")

# (message id, params) per field; translated where the form is shown.
FieldErrors = dict[str, tuple[str, dict[str, Any]]]


@dataclass
class DetailsForm:
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    phone: str = ""
    date_of_birth: str = ""
    consent: bool = False
    postal_address: str = ""  # lines; checked with the booking (postcall.intake)

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> DetailsForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            given_name=text("given_name"),
            family_name=text("family_name"),
            email=text("email"),
            phone=text("phone"),
            date_of_birth=text("date_of_birth"),
            consent=form.get("consent") == "yes",
            postal_address=text("postal_address")[:1000],
        )

    def validate(self, today: date) -> tuple[CitizenInput | None, FieldErrors]:
        errors: FieldErrors = {}
        _required(errors, "given_name", self.given_name, 100, N_("Enter your first name."))
        _required(errors, "family_name", self.family_name, 100, N_("Enter your last name."))
        if not self.email:
            errors["email"] = (N_("Enter your e-mail address."), {})
        elif len(self.email) > 254 or not _email_ok(self.email):
            errors["email"] = (
                N_("Enter an e-mail address in the correct format, like name@example.org."), {}
            )
        if self.phone and not _PHONE.match(self.phone):
            errors["phone"] = (
                N_("Enter a phone number with digits only, like 0711 1234567 or +49 711 1234567."),
                {},
            )
        dob: date | None = None
        if self.date_of_birth:
            dob = parse_birth_date(self.date_of_birth)
            if dob is None:
                errors["date_of_birth"] = (
                    N_("Enter your date of birth as day, month and year, like 31.12.1980."), {}
                )
            elif dob >= today or dob.year < 1900:
                errors["date_of_birth"] = (N_("Your date of birth must be in the past."), {})
        if not self.consent:
            errors["consent"] = (
                N_("Please agree to the processing of your details. "
                   "Without it we cannot book the appointment."),
                {},
            )
        if errors:
            return None, errors
        return (
            CitizenInput(
                given_name=self.given_name,
                family_name=self.family_name,
                email=self.email,
                phone=self.phone,
                date_of_birth=dob,
            ),
            {},
        )


def _required(errors: FieldErrors, name: str, value: str, max_length: int, missing: str) -> None:
    if not value:
        errors[name] = (missing, {})
    elif len(value) > max_length:
        errors[name] = (N_("This is too long: at most %(max)s characters."), {"max": max_length})
    elif any(ord(char) < 32 for char in value):
        errors[name] = (N_("This contains characters that are not allowed."), {})


def _email_ok(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def parse_birth_date(value: str) -> date | None:
    """``31.12.1980`` as typed (day first, also with / or -), or ISO ``1980-12-31``
    (what browsers autofill)."""
    try:
        match = _DOB_DAY_FIRST.match(value)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)  # checked against the calendar by the caller
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        return None
    return None
