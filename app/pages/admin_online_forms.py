"""The admin's online-service form (``/admin/online-services``): the service's own fields, and
its form fields as an editable table of rows that works without JavaScript.

A posted form becomes the admin API's dict (``online.catalogue``: ``fields`` is the whole
ordered form; a key left out is retired), so pages and API share every rule and message. The
table's rows are named ``fields.<row>.<part>``; the rows sent to the catalogue are those not
ticked "retire" and not left empty, so a problem the catalogue reports for ``fields.<n>.<part>``
(the n-th field sent) is put back beside row ``sent[n]``'s cell. Buttons named ``move``
(``<row>:up`` / ``<row>:down``) and ``add_row`` change the table and show the form again
without saving.

Options of a choice are written one per line as ``value|label|English label`` (only the label
is needed: ``label`` alone is its own value). A file's largest size is given in MB (MiB, as
the catalogue's messages count); a size shown and sent back unchanged keeps its exact bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.pages.admin_forms import FormField
from app.pages.forms import Form
from core.errors import DomainError
from core.i18n import Translator
from core.messages import N_
from online.forms import field_options
from online.models import FieldType
from online.models import FormField as StoredField

MAX_ROWS = 41  # the catalogue's 40 fields, and one more to show its message
MIB = 1024 * 1024
_MB = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{1,3})?$")

TYPE_LABELS: dict[str, str] = {
    FieldType.text: N_("Text, one line"),
    FieldType.textarea: N_("Text, several lines"),
    FieldType.date: N_("Date"),
    FieldType.number: N_("Number"),
    FieldType.email: N_("E-mail address"),
    FieldType.choice: N_("Choice of options"),
    FieldType.checkbox: N_("Checkbox (yes or no)"),
    FieldType.address: N_("Postal address"),
    FieldType.file: N_("File upload"),
    FieldType.location: N_("Place on a map"),
}
IDENTITIES: dict[str, str] = {
    "none": N_("No identity check"),
    "video": N_("Identity check in a video call before completion"),
}

# The service's own fields (rendered like the other admin forms, admin/_forms.html).
SERVICE_FIELDS = [
    FormField("name", "Name (German)", required=True),
    FormField("name_en", "Name (English)"),
    FormField("description", "Description (German)", "textarea"),
    FormField("description_en", "Description (English)", "textarea"),
    FormField("office_ids", "Offices", "multi", options="offices"),
    FormField("fee_cents", "Fee in euros", "money", required=True,
              hint="For example 12.50; 0 if free of charge"),
    FormField("fee_schedule_ref", "Fee schedule reference",
              hint="Legal basis and item number, shown on the fee notice"),
    FormField("processing_days", "Processing time in days", "number", required=True,
              hint="From 1 to 365; a request is overdue after this time"),
    FormField("video_service_id", "Video service for the identity check", "select",
              options="video_services",
              hint="The service the citizen books when asked for a video appointment"),
    FormField("anonymous_allowed", "May be sent without a name", "checkbox"),
    FormField("active", "Offered to citizens", "checkbox"),
    FormField("sort_order", "Position in lists", "number", hint="Smaller numbers first"),
]
PARTS = ("key", "type", "label", "label_en", "hint", "hint_en", "required", "options",
         "max_mb", "retire")


@dataclass
class Row:
    """One row of the fields table as the form shows it."""

    key: str = ""
    type: str = FieldType.text.value
    label: str = ""
    label_en: str = ""
    hint: str = ""
    hint_en: str = ""
    required: bool = False
    options: str = ""
    max_mb: str = ""
    retire: bool = False
    saved: bool = False  # a field the service has (its key cannot change here)
    saved_bytes: str = ""  # its exact size limit, kept while ``max_mb`` is unchanged

    @property
    def empty(self) -> bool:
        return not self.saved and not any(
            (self.key, self.label, self.label_en, self.hint, self.hint_en, self.options,
             self.max_mb))


@dataclass
class FieldsTable:
    rows: list[Row]
    errors: dict[str, str] = field(default_factory=dict)  # "fields-<row>-<part>" -> message


def mb_text(size: int | None) -> str:
    if size is None:
        return ""
    text = f"{size / MIB:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def options_text(stored: StoredField) -> str:
    lines = []
    for option in field_options(stored):
        if option.value == option.label and not option.label_en:
            lines.append(option.label)
        else:
            lines.append("|".join([option.value, option.label,
                                   *([option.label_en] if option.label_en else [])]))
    return "\n".join(lines)


def rows_of(t: Translator, fields: list[StoredField]) -> list[Row]:
    """A service's fields as rows (retired ones ticked), and an empty row to add one."""
    comma = t.lang == "de"
    rows = [Row(key=f.key, type=f.type, label=f.label, label_en=f.label_en, hint=f.hint,
                hint_en=f.hint_en, required=f.required, options=options_text(f),
                max_mb=mb_text(f.max_bytes).replace(".", "," if comma else "."),
                retire=f.retired_at is not None, saved=True,
                saved_bytes=str(f.max_bytes or "")) for f in fields]
    return [*rows, Row()]


def read_rows(form: Form) -> list[Row]:
    rows: list[Row] = []
    for index in range(MAX_ROWS + 1):
        at = f"fields.{index}."
        if f"{at}type" not in form:
            break
        text = {name: form.get(at + name, "").strip()[:4000] for name in
                ("key", "type", "label", "label_en", "hint", "hint_en", "max_mb", "saved_bytes")}
        rows.append(Row(
            key=text["key"][:40], type=text["type"][:12], label=text["label"],
            label_en=text["label_en"], hint=text["hint"], hint_en=text["hint_en"],
            required=f"{at}required" in form,
            options=form.get(at + "options", "").replace("\r\n", "\n")[:8000],
            max_mb=text["max_mb"][:10], retire=f"{at}retire" in form,
            saved=form.get(at + "saved") == "yes", saved_bytes=text["saved_bytes"][:10]))
    return rows


def rearranged(form: Form, rows: list[Row]) -> tuple[list[Row], str | None]:
    """The rows after a ``move`` or ``add_row`` button, and the id of the control to focus
    (None: not such a button)."""
    if "add_row" in form:
        rows = [*rows, Row()] if len(rows) < MAX_ROWS else rows
        return rows, f"fields-{len(rows) - 1}-key"
    move = form.get("move", "")
    index_text, _, direction = move.partition(":")
    if not index_text.isdigit() or direction not in ("up", "down"):
        return rows, None
    index = int(index_text)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= index < len(rows) and 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
        return rows, f"move-{other}-{direction}"
    return rows, f"fields-{min(index, len(rows) - 1)}-key"


def _options(text: str) -> list[dict[str, str]] | None:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return None
    found = []
    for line in lines:
        parts = [p.strip() for p in line.split("|")]
        value, label, label_en = [*parts, "", ""][:3] if len(parts) > 1 else (
            parts[0], parts[0], "")
        found.append({"value": value, "label": label, "label_en": label_en})
    return found


def _max_bytes(row: Row, number: int, errors: dict[str, str], t: Translator) -> int | None:
    if not row.max_mb:
        return None
    if row.saved_bytes.isdigit() and \
            row.max_mb.replace(",", ".") == mb_text(int(row.saved_bytes)):
        return int(row.saved_bytes)
    if not _MB.match(row.max_mb):
        errors[f"fields-{number}-max_mb"] = t.gettext(
            "Please enter the size in MB, for example 2 or 2.5.")
        return None
    return round(float(row.max_mb.replace(",", ".")) * MIB)


def field_dicts(t: Translator, rows: list[Row]) -> tuple[list[dict[str, Any]], list[int],
                                                         dict[str, str]]:
    """The catalogue's ``fields`` from the rows, which row each came from, and the errors the
    page finds itself (a size that is not a number)."""
    sent: list[dict[str, Any]] = []
    origin: list[int] = []
    errors: dict[str, str] = {}
    for number, row in enumerate(rows):
        if row.retire or row.empty:
            continue
        item: dict[str, Any] = {"key": row.key, "type": row.type, "label": row.label,
                                "label_en": row.label_en, "hint": row.hint,
                                "hint_en": row.hint_en, "required": row.required}
        options = _options(row.options)
        if options is not None:
            item["options"] = options
        size = _max_bytes(row, number, errors, t)
        if size is not None:
            item["max_bytes"] = size
        sent.append(item)
        origin.append(number)
    return sent, origin, errors


def _cell(target: str, origin: list[int]) -> str | None:
    """``fields.<n>.<part>`` of the catalogue as the id of the table's cell (or row)."""
    parts = target.split(".")
    if len(parts) < 2 or parts[0] != "fields" or not parts[1].isdigit():
        return None
    index = int(parts[1])
    row = origin[index] if index < len(origin) else len(origin)
    part = {"max_bytes": "max_mb"}.get(parts[2], parts[2]) if len(parts) > 2 else "key"
    return f"fields-{row}-{part if part in PARTS else 'key'}"


def table_errors(t: Translator, exc: DomainError, origin: list[int]) -> dict[str, str]:
    """The catalogue's problems with the fields, each beside its cell; "fields" for the
    table as a whole."""
    errors: dict[str, str] = {}
    for target, msgid, params in [(exc.field or "", exc.msgid, exc.params), *exc.problems]:
        if not target.startswith("fields"):
            continue
        cell = _cell(target, origin) or "fields"
        errors.setdefault(cell, t.gettext(msgid, **params))
    return errors
