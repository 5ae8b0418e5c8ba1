"""A request's answers and documents as a citizen reads them back in an e-mail: each answer under
its field's label in the mail's language, in the form's order.

Answers are the plain JSON values ``online.forms`` stores: text, a number, ``True`` for a ticked
box, an ISO date, a choice's value, ``{"street", "postcode", "city"}`` and ``{"lat", "lon"}``.
A field retired since the request was sent keeps its label (its row is kept for that); an
answer whose field is gone altogether is shown under its key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal

from core.i18n import Translator, uses_english_data
from online.forms import field_options
from online.models import FieldType, FormField


def field_label(t: Translator, field: FormField) -> str:
    return field.label_en if uses_english_data(t.lang) and field.label_en else field.label


def _choice(t: Translator, field: FormField, value: str) -> str:
    for option in field_options(field):
        if option.value == value:
            english = uses_english_data(t.lang)
            return option.label_en if english and option.label_en else option.label
    return value


def _date(t: Translator, value: str) -> str:
    try:
        return t.date(dt.date.fromisoformat(value), "long")
    except ValueError:
        return value


def _mapping(value: Mapping[str, Any]) -> str:
    if {"lat", "lon"} <= value.keys():
        return f"{value['lat']}, {value['lon']}"
    if {"street", "postcode", "city"} & value.keys():
        town = " ".join(str(value.get(k) or "").strip() for k in ("postcode", "city")).strip()
        return ", ".join(p for p in (str(value.get("street") or "").strip(), town) if p)
    return ", ".join(str(v) for v in value.values())


def answer_text(t: Translator, field: FormField | None, value: Any) -> str:
    """One answer as text: Yes/No, a number and a date as the language writes them, an
    address on one line, a place as "lat, lon", a choice by its option's label."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return t.gettext("Yes") if value else t.gettext("No")
    if isinstance(value, int | float):
        return format_decimal(value, locale=t.locale)
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list):
        return ", ".join(answer_text(t, field, item) for item in value)
    text = str(value)
    if field is not None and field.type == FieldType.date:
        return _date(t, text)
    if field is not None and field.type == FieldType.choice:
        return _choice(t, field, text)
    return text


def answer_rows(t: Translator, fields: Sequence[FormField],
                answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, answer) for every answer given, in the form's order; answers to fields no
    longer known come last, under their key."""
    rows: list[tuple[str, str]] = []
    known = {f.key for f in fields}
    for field in fields:
        if field.type == FieldType.file or field.key not in answers:
            continue
        text = answer_text(t, field, answers[field.key])
        if text:
            rows.append((field_label(t, field), text))
    for key, value in answers.items():
        if key not in known and (text := answer_text(t, None, value)):
            rows.append((key, text))
    return rows


def document_rows(t: Translator, fields: Sequence[FormField],
                  documents: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field label, file name) per document, from ``(field_key, filename)`` pairs."""
    by_key = {f.key: f for f in fields}
    return [(field_label(t, by_key[key]) if key in by_key else key, filename)
            for key, filename in documents]


def labels_of(t: Translator, fields: Sequence[FormField], keys: Sequence[str]) -> list[str]:
    """The labels of the form's fields ``keys`` (documents the office asks for)."""
    by_key = {f.key: f for f in fields}
    return [field_label(t, by_key[key]) if key in by_key else key for key in keys]
