"""Form descriptions of the admin pages: which fields, how a posted form becomes typed values,
and how a stored object becomes form values and table cells.

Labels and hints are English message ids, translated in the template. The typed values go to
the same domain services as the API, so the rules (and their messages) are the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.pages.forms import Form
from booking.admin import OFFICE_FIELDS, SERVICE_FIELDS
from booking.admin_schedules import CLOSURE_FIELDS, SCHEDULE_FIELDS
from booking.admin_validation import REQUIRED, FieldError, FieldErrors, Validator, clean
from booking.channels import CHANNEL_LABELS, SHARED_CHANNELS
from core.i18n import Translator
from staff.service import USER_FIELDS

Json = dict[str, Any]
FormValues = dict[str, Any]  # field -> str | list[str] | bool, as the template shows it

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text textarea email password number money date time checkbox
    # select multi weekdays
    hint: str | None = None
    required: bool = False
    options: str | None = None  # offices | all_offices | services | roles | weekdays
    on_edit: bool = True
    clearable: bool = False  # a number that may be emptied: "not set" (None)

    @property
    def input_type(self) -> str:
        return {"email": "email", "password": "password", "date": "date",
                "time": "time"}.get(self.kind, "text")


@dataclass(frozen=True)
class Lookups:
    """Names for ids, shown in tables and as choices."""

    offices: dict[int, str] = field(default_factory=dict)
    services: dict[int, str] = field(default_factory=dict)
    service_offices: dict[int, list[int]] = field(default_factory=dict)


# --- parsing a posted form ---------------------------------------------------------------------

_INT = re.compile(r"^-?[0-9]{1,9}$")
_MONEY = re.compile(r"^([0-9]{1,7})(?:[.,]([0-9]{1,2}))?$")


def _one(f: FormField, raw: str, editing: bool) -> tuple[bool, Any]:
    """(present, value) for a single-valued field; raises FieldErrors for a malformed value."""
    text = raw.strip()
    if f.kind in ("number", "money"):
        if not text:
            if f.clearable:
                return True, None
            if f.required or editing:
                raise FieldErrors.one(f.name, REQUIRED)
            return False, None
        if f.kind == "number":
            if not _INT.match(text):
                raise FieldErrors.one(f.name, "Please enter a whole number.")
            return True, int(text)
        match = _MONEY.match(text.replace(" ", "").removesuffix("€"))
        if match is None:
            raise FieldErrors.one(
                f.name, "Please enter an amount in euros, for example 12.50."
            )
        return True, int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if f.kind == "select":
        if f.options == "roles":
            return True, text
        if f.options == "channels":  # empty: shared by every channel
            return True, text or None
        if not text:
            return True, None
        if not text.isdigit() or len(text) > 9:
            raise FieldErrors.one(f.name, "Please choose one of the options.")
        return True, int(text)
    if f.kind == "date":
        return True, text or None
    if f.kind == "password":
        if not raw:
            if editing:
                return False, None  # left empty: the password stays as it is
            raise FieldErrors.one(f.name, REQUIRED)
        return True, raw
    return True, raw


def parse_form(form: Form, fields: list[FormField], specs: Mapping[str, Validator], *,
               editing: bool) -> Json:
    """Typed values for the services; FieldErrors with every field's problem at once."""
    values: Json = {}
    errors: list[FieldError] = []
    for f in fields:
        if editing and not f.on_edit:
            continue
        if f.kind == "checkbox":
            values[f.name] = f.name in form
            continue
        if f.kind in ("multi", "weekdays"):
            items = form.getlist(f.name)
            if not all(i.isdigit() and len(i) <= 9 for i in items):
                errors.append(FieldError(f.name, "Please choose one of the options."))
                continue
            values[f.name] = [int(i) for i in items]
            continue
        try:
            present, value = _one(f, form.get(f.name, ""), editing)
        except FieldErrors as exc:
            errors.extend(exc.errors)
            continue
        if present:
            values[f.name] = value
    if errors:
        # Check the well-formed fields too, so the form shows every problem in one go.
        try:
            clean(values, specs)
        except FieldErrors as exc:
            errors.extend(e for e in exc.errors if all(e.field != x.field for x in errors))
        order = [f.name for f in fields]
        errors.sort(key=lambda e: order.index(e.field) if e.field in order else len(order))
        raise FieldErrors(errors)
    return values


def submitted_values(form: Form, fields: list[FormField]) -> FormValues:
    """What the user sent, to show again beside the errors (never a password)."""
    out: FormValues = {}
    for f in fields:
        if f.kind == "password":
            out[f.name] = ""
        elif f.kind == "checkbox":
            out[f.name] = f.name in form
        elif f.kind in ("multi", "weekdays"):
            out[f.name] = form.getlist(f.name)
        else:
            out[f.name] = form.get(f.name, "")
    return out


def money_text(cents: int, t: Translator) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros}{',' if t.lang == 'de' else '.'}{rest:02d}"


def form_values(item: Json, fields: list[FormField], t: Translator) -> FormValues:
    """A stored object (as the API renders it) as form values."""
    out: FormValues = {}
    for f in fields:
        value = item.get(f.name)
        if f.kind == "password" or value is None:
            out[f.name] = ""
        elif f.kind == "checkbox":
            out[f.name] = bool(value)
        elif f.kind in ("multi", "weekdays"):
            out[f.name] = [str(v) for v in value]
        elif f.kind == "money":
            out[f.name] = money_text(int(value), t)
        else:
            out[f.name] = str(value)
    return out


# --- the resources -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageResource:
    path: str
    api_name: str  # the matching resource of app.api.admin
    title: str
    new_title: str
    edit_title: str
    delete_title: str
    delete_text: str
    fields: list[FormField]
    specs: Mapping[str, Validator]
    columns: list[str]
    cells: Callable[[Json, Lookups, Translator], list[str]]
    label: Callable[[Json, Lookups, Translator], str]
    defaults: FormValues = field(default_factory=dict)


def _office_cells(item: Json, lk: Lookups, t: Translator) -> list[str]:
    return [item["name"], item["timezone"], item["authority"]]


def _service_cells(item: Json, lk: Lookups, t: Translator) -> list[str]:
    return [
        item["name"],
        t.gettext("%(minutes)s min", minutes=item["duration_minutes"]),
        t.money(item["fee_cents"], item["currency"]),
        t.gettext("yes") if item["active"] else t.gettext("no"),
        ", ".join(lk.offices.get(i, str(i)) for i in item["office_ids"]) or "–",
    ]


def weekday_text(days: list[int], t: Translator) -> str:
    return ", ".join(t.gettext(WEEKDAYS_SHORT[d]) for d in days)


def _schedule_label(item: Json, lk: Lookups, t: Translator) -> str:
    return (f"{lk.offices.get(item['office_id'], '')}: {weekday_text(item['weekdays'], t)} "
            f"{item['start_time']}–{item['end_time']}")


def _schedule_cells(item: Json, lk: Lookups, t: Translator) -> list[str]:
    until = item["valid_until"]
    validity = (t.gettext("from %(start)s to %(end)s", start=item["valid_from"], end=until)
                if until else t.gettext("from %(start)s", start=item["valid_from"]))
    return [
        lk.offices.get(item["office_id"], str(item["office_id"])),
        weekday_text(item["weekdays"], t),
        f"{item['start_time']}–{item['end_time']}",
        str(item["capacity"]),
        validity,
        ", ".join(lk.services.get(i, str(i)) for i in item["service_ids"]) or "–",
        t.gettext(CHANNEL_LABELS.get(item.get("channel") or "", SHARED_CHANNELS)),
        _release_text(item, t),
    ]


def _release_text(item: Json, t: Translator) -> str:
    """The schedule's release rule ("daily at 07:00, 21 days ahead"), or that it has none."""
    if not item.get("release_time"):
        return t.gettext("all at once")
    days = int(item.get("release_days_ahead") or 0)
    ahead = (t.gettext("one day ahead") if days == 1
             else t.gettext("%(days)s days ahead", days=days))
    return t.gettext("daily at %(time)s, %(ahead)s", time=item["release_time"], ahead=ahead)


def _closure_office(item: Json, lk: Lookups, t: Translator) -> str:
    if item["office_id"] is None:
        return t.gettext("All offices")
    return lk.offices.get(item["office_id"], str(item["office_id"]))


def _closure_cells(item: Json, lk: Lookups, t: Translator) -> list[str]:
    return [item["date"], _closure_office(item, lk, t), item["reason"] or "–"]


ROLE_LABELS = {"clerk": "Clerk", "admin": "Administrator",
               "integration": "Integration (passport software)"}


def _user_cells(item: Json, lk: Lookups, t: Translator) -> list[str]:
    return [
        item["email"],
        item["display_name"] or "–",
        t.gettext(ROLE_LABELS.get(item["role"], "Clerk")),
        t.gettext("yes") if item["active"] else t.gettext("no"),
        ", ".join(lk.offices.get(i, str(i)) for i in item["office_ids"]) or "–",
    ]


OFFICES = PageResource(
    path="offices", api_name="offices", title="Offices", new_title="New office",
    edit_title="Edit office", delete_title="Delete this office?",
    delete_text="Do you really want to delete the office “%(label)s”? Its schedules and "
    "closures are deleted with it. This cannot be undone.",
    fields=[
        FormField("name", "Name", required=True),
        FormField("timezone", "Time zone", hint="IANA name, for example Europe/Berlin",
                  required=True),
        FormField("min_notice_minutes", "Minimum notice in minutes", "number",
                  hint="How long before a slot it can still be booked"),
        FormField("horizon_days", "Booking horizon in days", "number",
                  hint="How many days ahead citizens can book"),
        FormField("authority", "Issuing authority", hint="Shown on fee notices"),
        FormField("address", "Address", "textarea", hint="Several lines, as on a letter"),
        FormField("email", "E-mail address", "email"),
        FormField("phone", "Phone"),
        FormField("iban", "IBAN", hint="For fee notices; spaces are allowed"),
        FormField("bic", "BIC"),
        FormField("bank_name", "Bank"),
        FormField("epc_name", "Short beneficiary name",
                  hint="For the GiroCode on fee notices, at most 70 characters; needed when "
                  "the authority's name is longer"),
        FormField("remittance_prefix", "Payment reference before the case number",
                  hint="For example Kassenzeichen"),
        FormField("privacy_contact", "Privacy contact", "textarea",
                  hint="Shown on the privacy notice: who answers questions about personal data"),
        FormField("data_protection_officer", "Data protection officer", "textarea",
                  hint="Name and contact, shown on the privacy notice"),
        FormField("imprint", "Imprint", "textarea",
                  hint="Shown on the imprint page: legal name, representative, address"),
    ],
    specs=OFFICE_FIELDS,
    columns=["Name", "Time zone", "Issuing authority"],
    cells=_office_cells,
    label=lambda item, lk, t: str(item["name"]),
    defaults={"timezone": "Europe/Berlin", "min_notice_minutes": "60", "horizon_days": "60"},
)

SERVICES = PageResource(
    path="services", api_name="services", title="Services", new_title="New service",
    edit_title="Edit service", delete_title="Delete this service?",
    delete_text="Do you really want to delete the service “%(label)s”? "
    "This cannot be undone.",
    fields=[
        FormField("name", "Name (German)", required=True),
        FormField("name_en", "Name (English)"),
        FormField("description", "Description (German)", "textarea"),
        FormField("description_en", "Description (English)", "textarea"),
        FormField("duration_minutes", "Duration in minutes", "number", required=True,
                  hint="From 5 to 480"),
        FormField("extra_person_minutes", "Minutes for each further person", "number",
                  clearable=True,
                  hint="For example 10 for a child's passport; empty: the whole duration again"),
        FormField("fee_cents", "Fee in euros", "money", required=True,
                  hint="For example 12.50; 0 if free of charge"),
        FormField("fee_schedule_ref", "Fee schedule reference",
                  hint="Legal basis and item number, shown on the fee notice"),
        FormField("video", "Offered by video", "checkbox"),
        FormField("onsite", "Offered on site at the office", "checkbox"),
        FormField("phone", "Offered by phone", "checkbox",
                  hint="The booking then asks for the phone number to call"),
        FormField("bring", "What to bring (on site)", "textarea",
                  hint="Shown for on-site appointments and in their e-mails"),
        FormField("requires_identity", "Identity check needed", "checkbox"),
        FormField("delivers_by_post", "Documents are sent by post", "checkbox",
                  hint="The booking then asks for the postal address"),
        FormField("active", "Bookable", "checkbox"),
        FormField("sort_order", "Position in lists", "number", hint="Smaller numbers first"),
        FormField("office_ids", "Offices", "multi", options="offices"),
    ],
    specs=SERVICE_FIELDS,
    columns=["Name", "Duration", "Fee", "Bookable", "Offices"],
    cells=_service_cells,
    label=lambda item, lk, t: str(item["name"]),
    defaults={"duration_minutes": "15", "fee_cents": "0", "video": True,
              "requires_identity": True, "active": True, "sort_order": "0"},
)

SCHEDULES = PageResource(
    path="schedules", api_name="schedules", title="Schedules", new_title="New schedule",
    edit_title="Edit schedule", delete_title="Delete this schedule?",
    delete_text="Do you really want to delete the schedule “%(label)s”? "
    "This cannot be undone.",
    fields=[
        FormField("office_id", "Office", "select", options="offices", required=True),
        FormField("service_ids", "Services", "multi", options="services",
                  hint="Only services offered at the office"),
        FormField("weekdays", "Weekdays", "weekdays", options="weekdays"),
        FormField("start_time", "Opens at", "time", hint="HH:MM, office time",
                  required=True),
        FormField("end_time", "Closes at", "time", hint="HH:MM, office time", required=True),
        FormField("slot_minutes", "Slot length in minutes", "number", required=True),
        FormField("capacity", "Parallel clerks", "number", required=True,
                  hint="How many appointments can take place at the same time"),
        FormField("valid_from", "Valid from", "date", required=True),
        FormField("valid_until", "Valid until", "date", hint="Leave empty for no end"),
        FormField("release_time", "Released daily at", "time",
                  hint="HH:MM, office time. Leave empty to release every slot at once"),
        FormField("release_days_ahead", "Released days ahead",
                  hint="For example 21: each day's slots open three weeks before it"),
        FormField("channel", "Channel", "select", options="channels",
                  hint="Whose appointments these places serve"),
    ],
    specs=SCHEDULE_FIELDS,
    columns=["Office", "Weekdays", "Hours", "Parallel clerks", "Valid", "Services", "Channel",
             "Released"],
    cells=_schedule_cells,
    label=_schedule_label,
    # No weekday is ticked in advance: the admin chooses them (a pre-ticked Monday to Friday
    # was saved unread too often).
    defaults={"start_time": "08:00", "end_time": "12:00", "slot_minutes": "15",
              "capacity": "1"},
)

CLOSURES = PageResource(
    path="closures", api_name="closures", title="Closures", new_title="New closure",
    edit_title="Edit closure", delete_title="Delete this closure?",
    delete_text="Do you really want to delete the closure “%(label)s”? "
    "The day can then be booked again.",
    fields=[
        FormField("office_id", "Office", "select", options="all_offices"),
        FormField("date", "Date", "date", required=True),
        FormField("reason", "Reason", hint="For example a public holiday"),
    ],
    specs=CLOSURE_FIELDS,
    columns=["Date", "Office", "Reason"],
    cells=_closure_cells,
    label=lambda item, lk, t: f"{item['date']} – {_closure_office(item, lk, t)}",
)

USERS = PageResource(
    path="users", api_name="users", title="Staff accounts", new_title="New staff account",
    edit_title="Edit staff account", delete_title="Delete this staff account?",
    delete_text="Do you really want to delete the staff account “%(label)s”? "
    "This cannot be undone.",
    fields=[
        FormField("email", "E-mail address", "email", required=True),
        FormField("display_name", "Name"),
        FormField("role", "Role", "select", options="roles", required=True),
        FormField("office_ids", "Offices", "multi", options="offices"),
        FormField("active", "Account active", "checkbox"),
        FormField("password", "Password", "password",
                  hint="At least 12 characters. When editing, leave empty to keep it."),
    ],
    specs=USER_FIELDS,
    columns=["E-mail address", "Name", "Role", "Active", "Offices"],
    cells=_user_cells,
    label=lambda item, lk, t: str(item["email"]),
    defaults={"role": "clerk", "active": True},
)

PAGE_RESOURCES = {r.path: r for r in (OFFICES, SERVICES, SCHEDULES, CLOSURES, USERS)}


def _service_choices(lk: Lookups, office: object) -> list[tuple[str, ...]]:
    """The services to tick for a schedule: those offered at its office once the office is
    known; before that every service, named with its offices and marked with their ids (the
    form's script then shows only those of the office chosen)."""
    office_id = int(office) if isinstance(office, int | str) and str(office).isdigit() else None
    if office_id is not None and office_id in lk.offices:
        return [(str(i), name) for i, name in lk.services.items()
                if office_id in lk.service_offices.get(i, [])]
    choices: list[tuple[str, ...]] = []
    for i, name in lk.services.items():
        where = lk.service_offices.get(i, [])
        names = ", ".join(lk.offices[o] for o in where if o in lk.offices)
        label = f"{name} ({names})" if names else name
        choices.append((str(i), label, " ".join(str(o) for o in where)))
    return choices


def choice_options(
    lk: Lookups, t: Translator, office: object = None
) -> dict[str, list[tuple[str, ...]]]:
    offices: list[tuple[str, ...]] = [(str(i), name) for i, name in lk.offices.items()]
    return {
        "offices": offices,
        "all_offices": [("", t.gettext("All offices")), *offices],
        "services": _service_choices(lk, office),
        "roles": [(role, t.gettext(label)) for role, label in ROLE_LABELS.items()],
        "weekdays": [(str(i), t.gettext(name)) for i, name in enumerate(WEEKDAYS)],
        "channels": [("", t.gettext(SHARED_CHANNELS)),
                     *((c, t.gettext(label)) for c, label in CHANNEL_LABELS.items())],
    }
