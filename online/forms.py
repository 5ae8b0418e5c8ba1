"""Form definitions and the validation of answers: the one place both come from.

An admin defines a service's fields (``FieldSpec``, checked by ``check_fields``); a citizen's
answers are checked against the fields in force (``check_answers``), by the API and by the page
form alike, so both give the same errors beside the same fields. Answers are plain JSON values:
a string for text, textarea, email and choice (the option's value), an ISO date string, a number,
a boolean for a checkbox, ``{"street", "postcode", "city"}`` for an address and ``{"lat", "lon"}``
for a location. A file field's answer is its uploaded documents (``online.documents``), never a
value in ``answers``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from core.document_numbers import no_document_number
from core.errors import Invalid
from online.models import FieldType, FormField

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 40
MAX_OPTIONS = 50
TEXT_MAX = 500
TEXTAREA_MAX = 4000
DEFAULT_FILE_BYTES = 10 * 1024 * 1024
FILE_BYTES_LIMIT = 20 * 1024 * 1024  # the largest file an admin may allow
NUMBER_LIMIT = 1_000_000_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
POSTCODE = re.compile(r"^[A-Za-z0-9 -]{3,10}$")


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    label_en: str = ""

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "label": self.label, "label_en": self.label_en}


@dataclass(frozen=True)
class FieldSpec:
    """A field as an admin defines it (before it is stored)."""

    key: str
    type: str
    label: str
    label_en: str = ""
    hint: str = ""
    hint_en: str = ""
    required: bool = False
    options: tuple[Option, ...] = ()
    max_bytes: int | None = None


def field_options(field: FormField) -> list[Option]:
    try:
        raw = json.loads(field.options or "[]")
    except ValueError:
        return []
    return [Option(str(o.get("value", "")), str(o.get("label", "")), str(o.get("label_en", "")))
            for o in raw if isinstance(o, dict)]


def parse_options(raw: Any, field: str) -> tuple[Option, ...]:
    """Options as an API or page sends them: strings (value = label) or objects."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise Invalid("Give the options as a list.", field=field)
    if len(raw) > MAX_OPTIONS:
        raise Invalid("At most %(max)s options.", field=field, max=MAX_OPTIONS)
    options: list[Option] = []
    for item in raw:
        if isinstance(item, str):
            label = " ".join(item.split())
            options.append(Option(label, label))
        elif isinstance(item, dict) and isinstance(item.get("label", item.get("value")), str):
            label = " ".join(str(item.get("label") or item.get("value")).split())
            value = " ".join(str(item.get("value") or label).split())
            label_en = " ".join(str(item.get("label_en") or "").split())
            options.append(Option(value, label, label_en))
        else:
            raise Invalid("Each option is a text or {value, label}.", field=field)
    return tuple(options)


def check_fields(fields: list[FieldSpec]) -> None:
    """Refuse a definition a form could not be built from (all problems at once)."""
    error = Invalid("The form's fields are not valid.", field="fields")
    if len(fields) > MAX_FIELDS:
        raise Invalid("At most %(max)s fields per form.", field="fields", max=MAX_FIELDS)
    seen: set[str] = set()
    for index, spec in enumerate(fields):
        at = f"fields.{index}"
        if not KEY.match(spec.key):
            error.add(f"{at}.key", "A key is 1 to 40 lower-case letters, digits or _, "
                                   "starting with a letter.")
        elif spec.key in seen:
            error.add(f"{at}.key", "Each key only once per form.")
        seen.add(spec.key)
        if spec.type not in set(FieldType):
            error.add(f"{at}.type", "Unknown field type.")
        if not spec.label.strip() or len(spec.label) > 200 or len(spec.label_en) > 200:
            error.add(f"{at}.label", "A label of 1 to 200 characters is needed.")
        if len(spec.hint) > 500 or len(spec.hint_en) > 500:
            error.add(f"{at}.hint", "At most %(max)s characters.", max=500)
        values = [o.value for o in spec.options]
        if spec.type == FieldType.choice:
            if len(values) < 2:
                error.add(f"{at}.options", "A choice needs at least two options.")
            elif len(set(values)) != len(values) or not all(values):
                error.add(f"{at}.options", "Each option needs its own, non-empty value.")
            elif any(len(o.value) > 200 or len(o.label) > 200 for o in spec.options):
                error.add(f"{at}.options", "At most %(max)s characters.", max=200)
        elif spec.options:
            error.add(f"{at}.options", "Only a choice has options.")
        if spec.max_bytes is not None:
            if spec.type != FieldType.file:
                error.add(f"{at}.max_bytes", "Only a file field has a size limit.")
            elif not 1024 <= spec.max_bytes <= FILE_BYTES_LIMIT:
                error.add(f"{at}.max_bytes", "The limit must be between 1 KB and %(max)s MB.",
                          max=FILE_BYTES_LIMIT // (1024 * 1024))
    if error.problems:
        raise error


def max_bytes_of(field: FormField) -> int:
    return field.max_bytes or DEFAULT_FILE_BYTES


# --- answers -----------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value is False


def _text(value: Any, limit: int, *, one_line: bool) -> str:
    if not isinstance(value, str):
        raise ValueError("Please enter a text.")
    text = value.strip()
    if one_line:
        text = " ".join(text.split())
    if len(text) > limit:
        raise ValueError(f"limit:{limit}")
    return text


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Please enter a date.")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError("Please enter a date.") from exc
    if not 1900 <= day.year <= 2100:
        raise ValueError("Please enter a date between 1900 and 2100.")
    return day.isoformat()


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("Please enter a number.")
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        try:
            value = float(text) if "." in text else int(text)
        except ValueError as exc:
            raise ValueError("Please enter a number.") from exc
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("Please enter a number.")
    if abs(value) > NUMBER_LIMIT:
        raise ValueError("This number is too large.")
    return int(value) if float(value).is_integer() else float(value)


def _email(value: Any) -> str:
    text = _text(value, 254, one_line=True)
    if not EMAIL.match(text):
        raise ValueError("Please enter a valid e-mail address.")
    return text


def _choice(value: Any, field: FormField) -> str:
    values = [o.value for o in field_options(field)]
    if not isinstance(value, str) or value not in values:
        raise ValueError("Please choose one of the options.")
    return value


def _checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("", "false", "0", "no", None):
        return False
    raise ValueError("Please tick the box or leave it empty.")


def _address(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"street", "postcode", "city"}:
        raise ValueError("Please enter street, postcode and city.")
    parts = {k: " ".join(str(value.get(k) or "").split()) for k in ("street", "postcode", "city")}
    if not all(parts.values()):
        raise ValueError("Please enter street, postcode and city.")
    if any(len(v) > 200 for v in parts.values()):
        raise ValueError("limit:200")
    if not POSTCODE.match(parts["postcode"]):
        raise ValueError("Please enter a valid postcode.")
    return parts


def _location(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) - {"lat", "lon"}:
        raise ValueError("Please give the place as latitude and longitude.")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("Please give the place as latitude and longitude.") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError("Please give the place as latitude and longitude.")
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def _clean(field: FormField, value: Any) -> Any:
    kind = field.type
    if kind == FieldType.text:
        return _text(value, TEXT_MAX, one_line=True)
    if kind == FieldType.textarea:
        return _text(value, TEXTAREA_MAX, one_line=False)
    if kind == FieldType.date:
        return _date(value)
    if kind == FieldType.number:
        return _number(value)
    if kind == FieldType.email:
        return _email(value)
    if kind == FieldType.choice:
        return _choice(value, field)
    if kind == FieldType.checkbox:
        return _checkbox(value)
    if kind == FieldType.address:
        return _address(value)
    if kind == FieldType.location:
        return _location(value)
    raise ValueError("Upload the file as a document of the request.")


def _empty(field: FormField, value: Any) -> bool:
    if field.type == FieldType.address and isinstance(value, dict):
        return not any(str(v or "").strip() for v in value.values())
    if field.type == FieldType.location and isinstance(value, dict):
        return not any(str(v or "").strip() for v in value.values())
    return _blank(value)


def check_answers(fields: list[FormField], answers: Any, *, prefix: str = "answers",
                  files: frozenset[str] | None = None) -> dict[str, Any]:
    """The cleaned answers to the fields in force (retired fields are not asked any more).

    Raises ``Invalid`` with one problem per field. ``files`` are the keys of file fields that
    come with this submission (a page form's uploads); a required file field without one is
    refused only then, as API clients upload documents after submitting."""
    if not isinstance(answers, dict):
        raise Invalid("The answers must be an object of field keys.", field=prefix)
    error = Invalid("Please check the marked fields.", field=prefix)
    in_force = {f.key: f for f in fields if f.retired_at is None}
    for key in answers:
        if key not in in_force:
            error.add(f"{prefix}.{key}", "This form has no such field.")
    cleaned: dict[str, Any] = {}
    for key, field in in_force.items():
        at = f"{prefix}.{key}"
        value = answers.get(key)
        if field.type == FieldType.file:
            if value not in (None, "", []):
                error.add(at, "Upload the file as a document of the request.")
            elif field.required and files is not None and key not in files:
                error.add(at, "Please attach a file.")
            continue
        if _empty(field, value):
            if field.required and field.type == FieldType.checkbox:
                error.add(at, "Please tick this box.")
            elif field.required:
                error.add(at, "Please fill in this field.")
            continue
        try:
            clean = _clean(field, value)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("limit:"):
                error.add(at, "At most %(max)s characters.", max=int(message[6:]))
            else:
                error.add(at, message)
            continue
        if isinstance(clean, str) and field.type in (FieldType.text, FieldType.textarea):
            try:
                clean = no_document_number(clean, at, strict=False)
            except Invalid as exc:
                error.add(at, exc.msgid, **exc.params)
                continue
        cleaned[key] = clean
    if error.problems:
        raise error
    return cleaned


def missing_files(fields: list[FormField], present: set[str]) -> list[str]:
    """Keys of required file fields in force that have no document yet."""
    return [f.key for f in fields
            if f.retired_at is None and f.type == FieldType.file and f.required
            and f.key not in present]
