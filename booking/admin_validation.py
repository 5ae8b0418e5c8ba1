"""Field validation for the configuration objects (offices, services, schedules, closures, staff).

The API and the admin pages share these rules, so a value refused in one is refused in the other
with the same message. Validators turn a typed value into its stored form or raise ``BadValue``
with an English message id; ``clean`` collects every field's error at once, so a form can show
each message beside its field.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from core.errors import Conflict, Invalid

Validator = Callable[[Any], Any]

REQUIRED = "This field is required."


class BadValue(Exception):
    """One field's value is not acceptable; ``msgid`` is an English message id."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True)
class FieldError:
    field: str
    msgid: str
    params: dict[str, Any] = dc_field(default_factory=dict)

    def english(self) -> str:
        return self.msgid % self.params if self.params else self.msgid


class FieldErrors(Invalid):
    """Validation failed for one or more fields. The message is the first field's message;
    ``details`` lists every field (the API shows them, pages put each beside its field)."""

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0]
        super().__init__(first.msgid, field=first.field, **first.params)
        self.errors = errors
        self.details = [{"field": e.field, "message": e.english()} for e in errors]

    @classmethod
    def one(cls, field_name: str, msgid: str, **params: Any) -> FieldErrors:
        return cls([FieldError(field_name, msgid, params)])


class InUse(Conflict):
    """The object is still needed (e.g. by future appointments) and cannot change this way."""

    code = "in_use"
    message = "This object is still in use."


class Duplicate(Conflict):
    code = "duplicate"
    message = "An object with these values already exists."


def clean(
    values: Mapping[str, Any],
    specs: Mapping[str, Validator],
    *,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate the known keys of ``values`` (others are ignored); all errors at once."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in values:
            continue
        try:
            out[name] = spec(values[name])
        except BadValue as exc:
            errors.append(FieldError(name, exc.msgid, exc.params))
    for name in required:
        if name not in values and not any(e.field == name for e in errors):
            errors.append(FieldError(name, REQUIRED))
    if errors:
        raise FieldErrors(errors)
    return out


# --- validators --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text(max_len: int, *, required: bool = False, multiline: bool = False) -> Validator:
    def check(raw: Any) -> str:
        if raw is None:
            if required:
                raise BadValue(REQUIRED)
            return ""
        if not isinstance(raw, str):
            raise BadValue("Please enter text.")
        value: str = raw
        if multiline:
            lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
            value = "\n".join(lines).strip("\n")
        else:
            value = value.strip()
            if "\n" in value or "\r" in value:
                raise BadValue("Please enter a single line.")
        if _CONTROL.search(value.replace("\n", "")):
            raise BadValue("The text contains characters that are not allowed.")
        if required and not value:
            raise BadValue(REQUIRED)
        if len(value) > max_len:
            raise BadValue("Please enter at most %(max)s characters.", max=max_len)
        return value

    return check


def integer(low: int, high: int) -> Validator:
    def check(value: Any) -> int:
        if value is None:
            raise BadValue(REQUIRED)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue("Please enter a whole number.")
        if not low <= value <= high:
            raise BadValue("Please enter a number from %(low)s to %(high)s.", low=low, high=high)
        return value

    return check


def optional_integer(low: int, high: int) -> Validator:
    """``integer``, or None for null or an empty entry (the column's "not set")."""
    required = integer(low, high)

    def check(value: Any) -> int | None:
        return None if value is None or value == "" else required(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadValue("Please choose yes or no.")
    return value


MAX_ID = 2**31 - 1  # the database's integer keys; a larger number names nothing


def id_list(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise BadValue("Please give a list of ids.")
    if any(not 1 <= v <= MAX_ID for v in value):
        raise BadValue("There is no entry with this id.")
    return sorted(set(value))


def optional_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue("Please give an id.")
    if not 1 <= value <= MAX_ID:
        raise BadValue("There is no entry with this id.")
    return value


def required_id(value: Any) -> int:
    if value is None:
        raise BadValue(REQUIRED)
    result = optional_id(value)
    assert result is not None
    return result


def choice(options: Iterable[str]) -> Validator:
    allowed = tuple(options)

    def check(value: Any) -> str:
        if value not in allowed:
            raise BadValue("Please choose one of: %(options)s.", options=", ".join(allowed))
        assert isinstance(value, str)
        return value

    return check


def optional_choice(options: Iterable[str]) -> Validator:
    """``choice``, or None (also for an empty string)."""
    checked = choice(options)

    def check(value: Any) -> str | None:
        return None if value in (None, "") else checked(value)

    return check


@cache
def _zones() -> frozenset[str]:
    # Names from the system database that are not zones of a place.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


def timezone(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadValue(REQUIRED)
    if not isinstance(value, str) or value.strip() not in _zones():
        raise BadValue("Please enter a valid IANA time zone such as Europe/Berlin.")
    return value.strip()


def email(*, required: bool) -> Validator:
    def check(value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise BadValue(REQUIRED)
            return ""
        if not isinstance(value, str) or len(value) > 254:
            raise BadValue("Please enter a valid e-mail address.")
        try:
            result = validate_email(
                value.strip(), check_deliverability=False, test_environment=True
            )
        except EmailNotValidError as exc:
            raise BadValue("Please enter a valid e-mail address.") from exc
        return str(result.normalized).lower()

    return check


# IBAN lengths of the SEPA countries; others only get the general shape and checksum test.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def _compact(value: Any) -> str:
    """Text without white space, in upper case (an account number as typed); None is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadValue("Please enter text.")
    return re.sub(r"\s+", "", value).upper()


def iban(value: Any) -> str:
    """Spaces removed, upper case, ISO 13616 mod-97 checksum verified. Empty is allowed."""
    compact = _compact(value)
    if not compact:
        return ""
    expected = IBAN_LENGTHS.get(compact[:2])
    if not _IBAN_SHAPE.match(compact) or (expected is not None and len(compact) != expected):
        raise BadValue("This is not a valid IBAN.")
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(number) % 97 != 1:
        raise BadValue("The IBAN's check digits are wrong. Please check for typing errors.")
    return compact


_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def bic(value: Any) -> str:
    compact = _compact(value)
    if compact and not _BIC.match(compact):
        raise BadValue("This is not a valid BIC (8 or 11 letters and digits).")
    return compact


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def hhmm(value: Any) -> dt.time:
    if value is None or value == "":
        raise BadValue(REQUIRED)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise BadValue("Please enter a time as HH:MM, for example 09:30.")
    return dt.time(int(match.group(1)), int(match.group(2)))


# Dates outside this range are typing errors, and would overflow time-zone arithmetic at the
# ends of the calendar.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def day(value: Any) -> dt.date:
    if value is None or value == "":
        raise BadValue(REQUIRED)
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise BadValue("Please enter a date as YYYY-MM-DD.")
    parsed: dt.date
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise BadValue("Please enter a date as YYYY-MM-DD.") from exc
    else:
        parsed = value
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise BadValue("Please enter a date between %(first)s and %(last)s.",
                       first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
    return parsed


def optional_day(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    return day(value)


def weekdays(value: Any) -> str:
    """A non-empty list of weekday numbers (Monday = 0), stored as "0,1,2"."""
    if not isinstance(value, list | tuple) or not value:
        raise BadValue("Please choose at least one weekday.")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6 for v in value):
        raise BadValue("Weekdays are numbers from 0 (Monday) to 6 (Sunday).")
    return ",".join(str(v) for v in sorted(set(value)))


def hhmm_text(value: dt.time) -> str:
    return value.strftime("%H:%M")
