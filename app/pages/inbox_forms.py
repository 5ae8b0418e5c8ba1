"""Reading the request page's forms (take up or hand on, ask the citizen, reject) and putting a
domain error back beside the field it is about.

The rules stay in ``online.inbox``; this module only reads url-encoded fields and translates
field names. The completion form is the call page's (``app.pages.desk_forms``).
"""

from __future__ import annotations

from typing import Any

from app.pages.desk_views import FormState
from app.pages.forms import Form
from core.errors import DomainError
from core.i18n import Translator

TEXT_LIMIT = 5000  # longer than the domain's limits, so that the domain's message is shown

# Each form's fields that a domain error may name (anything else is the form's own error "").
FIELDS: dict[str, frozenset[str]] = {
    "assign": frozenset({"staff_id"}),
    "ask": frozenset({"text", "documents_requested"}),
    "reject": frozenset({"reason"}),
    "invite": frozenset(),
}


def _text(form: Form, name: str) -> str:
    return form.get(name, "").replace("\r\n", "\n")[:TEXT_LIMIT]


def assign_values(form: Form) -> dict[str, Any]:
    return {"staff_id": form.get("staff_id", "").strip()[:12]}


def ask_values(form: Form) -> dict[str, Any]:
    return {"text": _text(form, "text"),
            "documents": list(dict.fromkeys(k[:40] for k in form.getlist("documents_requested")
                                            if k))[:40]}


def reject_values(form: Form) -> dict[str, Any]:
    return {"reason": _text(form, "reason")}


def form_error(t: Translator, name: str, values: dict[str, Any], exc: DomainError) -> FormState:
    """The form ``name`` again with ``exc`` beside its field (or above the form)."""
    target = exc.field if exc.field in FIELDS[name] else ""
    message = t.gettext(exc.msgid, **exc.params)
    errors = {target: message}
    for field, msgid, params in exc.problems:  # several fields at once
        if field in FIELDS[name]:
            errors.setdefault(field, t.gettext(msgid, **params))
    return FormState(values, errors)
