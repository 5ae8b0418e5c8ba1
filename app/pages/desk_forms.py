"""Reading the desk panels' forms into the domain's inputs, and a domain error back onto the
form's fields.

The forms post url-encoded fields (they work without JavaScript); every rule about what makes a
check "verified" or a completion valid stays in ``postcall``: this module only translates
field names. The security features are grouped per document type (``features_<type>``) and
only the chosen type's group counts, so a page without JavaScript, which shows every group,
cannot send features of another kind of document.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.pages.desk_views import CHECKS, ITEM_ROWS, FormState, identity_defaults
from app.pages.forms import Form
from cases import completion as cases
from cases.identity import FEATURES_BY_TYPE, REQUIRED_CHECKS, VerificationInput
from cases.models import Outcome, ReasonCode
from core.errors import DomainError
from core.i18n import Translator
from core.types import parse_day

# Message ids of the domain whose field is narrower on the page than in the API.
_FEATURE_COUNT = "Check at least %(count)s security features of the document."
_MISSING_CHECKS = "A verified identity needs these checks: %(missing)s"
_QUESTIONS = "Security questions asked and answered correctly"


class FormInvalid(Exception):
    """The form could not be read into an input; ``state`` holds its values and errors."""

    def __init__(self, state: FormState) -> None:
        super().__init__("form invalid")
        self.state = state


def _text(form: Form, name: str, limit: int) -> str:
    return form.get(name, "").strip()[:limit]


def identity_values(form: Form) -> dict[str, Any]:
    doc_type = form.get("document_type", "")
    doc_type = doc_type if doc_type in FEATURES_BY_TYPE else ""
    features = form.getlist(f"features_{doc_type}") if doc_type else []
    return {
        "document_type": doc_type,
        "checks": [c for c in form.getlist("checks") if c in REQUIRED_CHECKS],
        "features": [f for f in features if f in FEATURES_BY_TYPE[doc_type]],
        "valid_until": _text(form, "valid_until", 10),
        "outcome": form.get("outcome", "") if form.get("outcome") in set(Outcome) else "",
        "reason_code": form.get("reason_code", "") if form.get("reason_code") in set(ReasonCode)
        else "",
        "reason": _text(form, "reason", 300),
        "note": _text(form, "note", 500),
        "person": _person(form.get("person", "1")) or "1",
    }


def _person(value: str) -> str:
    """A person's number as the forms send it (1 to 20), or "" for none."""
    value = value.strip()
    return value if value.isdigit() and 1 <= int(value) <= 20 else ""


def read_identity(t: Translator, form: Form) -> VerificationInput:
    """The check as the form states it. The abort button records a failed check for poor image
    quality whatever else is (not yet) filled in."""
    values = identity_values(form)
    state = FormState(values)
    if form.get("abort"):
        return VerificationInput(
            document_type=str(values["document_type"] or "other"),
            checks=frozenset([*values["checks"], *values["features"]]),
            outcome=Outcome.failed.value, reason_code=ReasonCode.poor_image_quality.value,
            reason=str(values["reason"]), note=str(values["note"]),
            person=int(values["person"]),
        )
    if not values["document_type"]:
        state.errors["document_type"] = t.gettext("Please choose the kind of document.")
    if not values["outcome"]:
        state.errors["outcome"] = t.gettext("Please choose the outcome of the check.")
    valid_until: date | None = None
    if values["valid_until"]:
        try:
            valid_until = parse_day(str(values["valid_until"]))
        except ValueError:
            state.errors["valid_until"] = t.gettext("Please enter a date as YYYY-MM-DD.")
    if state.errors:
        raise FormInvalid(state)
    return VerificationInput(
        document_type=str(values["document_type"]),
        checks=frozenset([*values["checks"], *values["features"]]),
        outcome=str(values["outcome"]), reason_code=str(values["reason_code"]) or None,
        reason=str(values["reason"]), valid_until=valid_until, note=str(values["note"]),
        person=int(values["person"]),
    )


def identity_error(t: Translator, form: Form, exc: DomainError) -> FormState:
    """``exc`` shown beside the identity form's field it is about."""
    state = FormState(identity_values(form) if form else identity_defaults().values)
    message = t.gettext(exc.msgid, **exc.params)
    target = exc.field or ""
    if exc.msgid == _FEATURE_COUNT:
        target = "features"
    elif exc.msgid == _MISSING_CHECKS:
        ticked = set(form.getlist("checks"))
        labels = {**CHECKS, "security_questions": _QUESTIONS}
        missing = [t.gettext(labels[n]) for n in REQUIRED_CHECKS if n not in ticked]
        message = t.gettext("Please confirm: %(checks)s", checks=", ".join(missing))
        target = "checks"
    elif target == "checks" and "features" in exc.msgid:
        target = "features"
    known = {"document_type", "checks", "features", "valid_until", "outcome", "reason_code",
             "reason", "note", "person"}
    state.errors[target if target in known else ""] = message
    return state


# --- completion --------------------------------------------------------------------------------


def completion_values(form: Form) -> dict[str, Any]:
    services = form.getlist("item_service")[:ITEM_ROWS]
    quantities = form.getlist("item_quantity")[:ITEM_ROWS]
    persons = form.getlist("item_person")[:ITEM_ROWS]
    rows = []
    for index in range(ITEM_ROWS):
        rows.append({
            "service": services[index].strip()[:20] if index < len(services) else "",
            "quantity": quantities[index].strip()[:5] if index < len(quantities) else "1",
            "person": _person(persons[index]) if index < len(persons) else "",
        })
    delivery = form.get("delivery", "")
    return {
        "rows": rows,
        "payment": form.get("payment", "")[:10],
        "delivery": delivery[:10],
        "external_authority": _text(form, "external_authority", 200),
        "note": _text(form, "note", 1000),
        "postal_address": _text(form, "postal_address", 400),
    }


def read_completion(t: Translator, form: Form) -> tuple[cases.CompletionInput, list[int]]:
    """The completion input and, per item, the form row it came from (for errors)."""
    values = completion_values(form)
    state = FormState(values)
    items: list[cases.ItemInput] = []
    rows: list[int] = []
    for number, row in enumerate(values["rows"], start=1):
        if not row["service"]:
            continue
        if not row["service"].isdigit():
            state.errors[f"item-{number}-service"] = t.gettext("Please choose a service.")
            continue
        quantity = row["quantity"]
        if not quantity.isdigit():
            state.errors[f"item-{number}-quantity"] = t.gettext(
                "Please enter the quantity as a whole number.")
            continue
        person = int(row["person"]) if row["person"] else None
        items.append(cases.ItemInput(int(row["service"]), int(quantity), person))
        rows.append(number)
    if not items and not state.errors:
        state.errors["item-1-service"] = t.gettext(
            "Choose at least one item from the fee schedule.")
    if not values["payment"]:
        state.errors["payment"] = t.gettext("Please choose how the fee is paid.")
    if not values["delivery"]:
        state.errors["delivery"] = t.gettext("Please choose how the document is delivered.")
    if state.errors:
        raise FormInvalid(state)
    delivery = str(values["delivery"])
    # The authority's name field is always on the form; it counts only for that delivery.
    authority = str(values["external_authority"]) if delivery == "external" else ""
    return cases.CompletionInput(
        items=tuple(items), payment=str(values["payment"]), delivery=delivery,
        external_authority=authority, note=str(values["note"]),
    ), rows


def completion_error(t: Translator, form: Form, exc: DomainError,
                     rows: list[int]) -> FormState:
    state = FormState(completion_values(form))
    message = t.gettext(exc.msgid, **exc.params)
    target = exc.field or ""
    if target.startswith("items."):
        _, index, part = [*target.split("."), "", ""][:3]
        number = rows[int(index)] if index.isdigit() and int(index) < len(rows) else 1
        target = f"item-{number}-{'quantity' if part == 'quantity' else 'service'}"
    elif target == "items":
        target = "item-1-service"
    elif target == "lines" or target.startswith("lines."):
        target = "postal_address"  # the address lines' rules (postcall.dispatch.clean_address)
    elif target not in ("payment", "delivery", "external_authority", "note", "postal_address"):
        target = ""
    state.errors[target] = message
    return state
