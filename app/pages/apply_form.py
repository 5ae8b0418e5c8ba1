"""The online request form as the page shows and reads it: one view per field of the service's
form, and the posted multipart form turned into the answers ``online.forms.check_answers``
judges (the same check the API runs, so both give the same errors beside the same fields).

Input names (CONTRACT §5: one input per field, named by its key):

* text, textarea, date, number, e-mail, choice (radios, a list box above ``RADIOS_MAX``
  options) and checkbox: ``{key}``;
* address: ``{key}.street``, ``{key}.postcode``, ``{key}.city``;
* location: ``{key}.lat``, ``{key}.lon`` (decimal degrees; a button fills them from the
  browser's position when pressed, ``static/js/locate.js``);
* file: ``{key}`` (one file; photos and PDF).

The citizen's own entries are ``citizen.given_name``, ``citizen.family_name``,
``citizen.email``, ``citizen.phone`` and the office ``request.office``: a field key has no dot,
so none of them can clash with a form's field. Element ids are ``answer-…`` and ``citizen-…``
(a key such as ``main`` would otherwise clash with the page's own ids).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal

from app.api.online_documents import Multipart, Upload
from app.api.online_schemas import hint_of, label_of
from app.pages.citizen_forms import DetailsForm, FieldErrors, parse_birth_date
from booking.service import CitizenInput
from core.errors import DomainError
from core.i18n import Translator, uses_english_data
from online.forms import field_options, max_bytes_of
from online.models import FieldType, FormField

RADIOS_MAX = 6
# What the browser's file dialog offers; the server decides by the file's content.
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
PARTS = {
    FieldType.address: ("street", "postcode", "city"),
    FieldType.location: ("lat", "lon"),
}
CITIZEN = ("given_name", "family_name", "email", "phone")
OFFICE = "request.office"


def answer_id(key: str, part: str = "") -> str:
    return f"answer-{key}-{part}" if part else f"answer-{key}"


@dataclass(frozen=True)
class Part:
    """One input of an address or a location."""

    id: str
    name: str
    label: str
    value: str
    autocomplete: str = ""
    inputmode: str = ""


@dataclass(frozen=True)
class FieldView:
    key: str
    type: str
    id: str  # the first input's: the error summary links there
    label: str
    hint: str
    required: bool
    error: str = ""
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    radios: bool = True
    parts: list[Part] = field(default_factory=list)
    accept: str = ""
    max_size: str = ""


def _parts(t: Translator, f: FormField, values: Mapping[str, str]) -> list[Part]:
    texts: tuple[str, ...]
    complete: tuple[str, ...]
    modes: tuple[str, ...]
    if f.type == FieldType.address:
        texts = (t.gettext("Street and house number"), t.gettext("Postcode"), t.gettext("Town"))
        complete = ("street-address", "postal-code", "address-level2")
        modes = ("", "numeric", "")
    else:
        texts = (t.gettext("Latitude"), t.gettext("Longitude"))
        complete = ("off", "off")
        modes = ("decimal", "decimal")
    return [Part(answer_id(f.key, p), f"{f.key}.{p}", text, values.get(f"{f.key}.{p}", ""),
                 auto, mode)
            for p, text, auto, mode in zip(PARTS[FieldType(f.type)], texts, complete, modes,
                                           strict=True)]


def _size(t: Translator, f: FormField) -> str:
    megabytes = round(max_bytes_of(f) / (1024 * 1024), 1)
    return t.gettext("%(size)s MB", size=format_decimal(megabytes, locale=t.locale))


def field_view(t: Translator, f: FormField, values: Mapping[str, str],
               errors: Mapping[str, str]) -> FieldView:
    kind = FieldType(f.type)
    options = [(o.value, o.label_en if uses_english_data(t.lang) and o.label_en else o.label)
               for o in field_options(f)]
    parts = _parts(t, f, values) if kind in PARTS else []
    radios = len(options) <= RADIOS_MAX
    return FieldView(
        key=f.key, type=kind.value,
        id=parts[0].id if parts else answer_id(f.key),
        label=label_of(f, t.lang), hint=hint_of(f, t.lang), required=f.required,
        error=errors.get(f"answers.{f.key}", ""), value=values.get(f.key, ""),
        checked=values.get(f.key) == "yes", options=options, radios=radios, parts=parts,
        accept=ACCEPT if kind == FieldType.file else "",
        max_size=_size(t, f) if kind == FieldType.file else "",
    )


# --- reading the posted form -----------------------------------------------------------------


def _number_text(value: str) -> str:
    return value.strip().replace(",", ".")


def _date_text(value: str) -> str:
    """An ISO date as date inputs send it, or one typed as 31.12.2026 (browsers without a date
    picker show a text box)."""
    day = parse_birth_date(value.strip())
    return day.isoformat() if day is not None else value


def chosen(form: Multipart, fields: list[FormField]) -> dict[str, Upload]:
    """The file sent for each of these file fields (one each; an input left empty sends none)."""
    return {f.key: form.files[f.key][0] for f in fields
            if f.type == FieldType.file and form.files.get(f.key)}


def answers_from(fields: list[FormField], form: Multipart) -> tuple[dict[str, Any],
                                                                      dict[str, Upload]]:
    """The answers to the fields in force as ``check_answers`` takes them, and the files sent."""
    answers: dict[str, Any] = {}

    def text(name: str) -> str:
        return form.fields.get(name, "")

    in_force = [f for f in fields if f.retired_at is None]
    for f in in_force:
        kind = FieldType(f.type)
        if kind == FieldType.file:
            continue
        if kind == FieldType.checkbox:
            answers[f.key] = text(f.key) == "yes"
        elif kind == FieldType.address:
            answers[f.key] = {p: text(f"{f.key}.{p}") for p in PARTS[kind]}
        elif kind == FieldType.location:
            answers[f.key] = {p: _number_text(text(f"{f.key}.{p}")) for p in PARTS[kind]}
        elif kind == FieldType.number:
            answers[f.key] = _number_text(text(f.key))
        elif kind == FieldType.date:
            answers[f.key] = _date_text(text(f.key))
        else:
            answers[f.key] = text(f.key)
    return answers, chosen(form, in_force)


def kept_values(form: Multipart) -> dict[str, str]:
    """What the citizen typed, to fill the form in again (files cannot be)."""
    return {k: v for k, v in form.fields.items() if k != "csrf_token"}


def citizen_from(form: Multipart, *, anonymous_allowed: bool,
                 today: dt.date) -> tuple[CitizenInput | None, FieldErrors]:
    """The citizen's entries, checked as the booking's details are (names optional where the
    service may be used anonymously); errors by the input's name."""

    def text(name: str) -> str:
        return form.fields.get(f"citizen.{name}", "").strip()

    details = DetailsForm(given_name=text("given_name"), family_name=text("family_name"),
                          email=text("email"), phone=text("phone"), consent=True)
    _, problems = details.validate(today)
    if anonymous_allowed:
        for name in ("given_name", "family_name"):
            if not getattr(details, name):
                problems.pop(name, None)
    errors = {f"citizen.{name}": problem for name, problem in problems.items()}
    if errors:
        return None, errors
    return CitizenInput(given_name=details.given_name, family_name=details.family_name,
                        email=details.email, phone=details.phone), {}


def problems_of(t: Translator, exc: DomainError) -> dict[str, str]:
    """A domain error's problems (or its one field) as translated messages by field."""
    found = {name: t.gettext(msgid, **params) for name, msgid, params in exc.problems}
    if not found and exc.field:
        found[exc.field] = t.gettext(exc.msgid, **exc.params)
    return found


def input_id(name: str, fields: list[FormField]) -> str:
    """The element an error of ``name`` (``answers.key``, ``citizen.email``, …) links to."""
    if name.startswith("answers."):
        key = name.split(".", 2)[1]
        f = next((f for f in fields if f.key == key), None)
        if f is not None and f.type in PARTS:
            return answer_id(key, PARTS[FieldType(f.type)][0])
        return answer_id(key)
    if name.startswith("citizen."):
        return "citizen-" + name.split(".", 1)[1].replace("_", "-")
    return "request-office" if name in (OFFICE, "office_id") else "request-form"
