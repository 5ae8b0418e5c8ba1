"""Request plumbing shared by the staff and admin pages: reading forms, translating errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.context import ctx
from app.http import read_body
from app.templating import request_translator
from booking.admin_validation import FieldErrors
from core.errors import DomainError
from core.i18n import Translator

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 400

Form = ImmutableMultiDict[str, str]


def translator(request: Request) -> Translator:
    return request_translator(request, ctx(request).i18n)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    return ctx(request).templates.response(request, name, context, status)


def redirect(url: str) -> Response:
    # 303: the browser follows with a GET, so reloading the result never re-sends the form.
    return RedirectResponse(url, status_code=303)


async def read_form(request: Request) -> Form:
    """A url-encoded form of bounded size (our forms never upload files); 413/415/400 else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise HTTPException(415)
    body = await read_body(request, MAX_FORM_BYTES)
    if content_type == "" and body:
        raise HTTPException(415)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400) from exc
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise HTTPException(400)  # NUL cannot be stored (PostgreSQL refuses it)
    return ImmutableMultiDict(pairs)


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
