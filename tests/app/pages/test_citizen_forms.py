"""Input handling of the citizen pages, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.pages.citizen_forms import (
    Choice,
    DetailsForm,
    parse_birth_date,
    parse_slot,
    slot_value,
)

TODAY = date(2026, 3, 29)


def test_details_form_accepts_a_complete_entry() -> None:
    form = DetailsForm.from_form({
        "given_name": "  Erika ", "family_name": "Mustermann", "email": "erika@example.org",
        "phone": "+49 (711) 123-456", "date_of_birth": "12.8.1964", "consent": "yes",
    })
    citizen, errors = form.validate(TODAY)
    assert errors == {}
    assert citizen is not None
    assert citizen.given_name == "Erika" and citizen.date_of_birth == date(1964, 8, 12)
    assert citizen.phone == "+49 (711) 123-456"


@pytest.mark.parametrize(("field", "value", "msgid_part"), [
    ("given_name", "", "first name"),
    ("family_name", "x" * 101, "too long"),
    ("family_name", "Muster\x00mann", "not allowed"),
    ("email", "", "Enter your e-mail"),
    ("email", "erika@", "correct format"),
    ("email", "a@b@example.org", "correct format"),
    ("phone", "ruf mich an", "phone number"),
    ("date_of_birth", "30.02.1990", "date of birth"),
    ("date_of_birth", "1990-13-01", "date of birth"),
    ("date_of_birth", "morgen", "date of birth"),
    ("date_of_birth", "2026-03-29", "in the past"),
    ("date_of_birth", "01.01.1850", "in the past"),
    ("consent", "", "agree"),
])
def test_details_form_errors_per_field(field: str, value: str, msgid_part: str) -> None:
    data = {"given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.org",
            "consent": "yes", field: value}
    citizen, errors = DetailsForm.from_form(data).validate(TODAY)
    assert citizen is None
    assert list(errors) == [field]
    assert msgid_part in errors[field][0]


def test_birth_date_formats() -> None:
    assert parse_birth_date("1980-12-31") == date(1980, 12, 31)
    assert parse_birth_date("31.12.1980") == date(1980, 12, 31)
    assert parse_birth_date("1.2.1980") == date(1980, 2, 1)
    assert parse_birth_date("31/12/1980") == date(1980, 12, 31)
    assert parse_birth_date("31. 12. 1980") == date(1980, 12, 31)
    assert parse_birth_date("12/31/1980") is None  # month first is not a German date
    assert parse_birth_date("1980/12/31") is None


def test_choice_parsing_records_bad_parameters_and_builds_urls() -> None:
    choice = Choice.from_params({"service": "3", "office": "x", "day": "2026-02-30",
                                 "slot": "2026-03-30T07:00Z", "step": "slot"})
    assert choice.service_id == 3 and choice.office_id is None and choice.day is None
    assert choice.bad == {"office", "day"}
    assert choice.slot == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    choice.office_id = 2
    assert choice.url(upto="office") == "/book?service=3&office=2"
    assert choice.url(upto="slot") == "/book?service=3&office=2&slot=2026-03-30T07%3A00Z"
    assert Choice.from_params({}).url() == "/book"


def test_slot_values_round_trip_in_utc() -> None:
    local = datetime.fromisoformat("2026-10-25T02:30:00+01:00")  # the repeated hour, 2nd time
    assert slot_value(local) == "2026-10-25T01:30Z"
    assert parse_slot(slot_value(local)) == local
    assert parse_slot("2026-10-25T02:30") is None  # no offset: ambiguous, refused
    assert parse_slot("garbage-garbage") is None
    assert parse_slot(None) is None
