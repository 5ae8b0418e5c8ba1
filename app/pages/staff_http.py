"""Request plumbing shared by the staff and admin pages: redirects after a post, translating
errors. Rendering, forms and CSRF are the same for every page (``app/templating.py``,
``app/pages/forms.py``, ``app/csrf.py``)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from booking.admin_validation import FieldErrors
from core.errors import DomainError
from core.i18n import Translator


def redirect(url: str) -> Response:
    # 303: the browser follows with a GET, so reloading the result never re-sends the form.
    return RedirectResponse(url, status_code=303)


def field_messages(t: Translator, exc: DomainError) -> dict[str, str]:
    """Each field's translated message, for showing beside the fields; {} if none is named."""
    if isinstance(exc, FieldErrors):
        out: dict[str, str] = {}
        for error in exc.errors:
            out.setdefault(error.field, t.gettext(error.msgid, **error.params))
        return out
    if exc.field:
        return {exc.field: t.gettext(exc.msgid, **exc.params)}
    return {}


def error_message(t: Translator, exc: DomainError) -> str:
    return t.gettext(exc.msgid, **exc.params)
