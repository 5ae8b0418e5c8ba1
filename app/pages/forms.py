"""The one reader of the pages' POSTed forms.

Most of our forms are small url-encoded forms, so the body is read with hard limits and parsed
here instead of buffering whatever a client sends:

* the body: 16 KiB from a browser without a staff session (citizens, the login form), 64 KiB
  from a signed-in member of staff (admin forms with many checkboxes, the dispatch batch);
* the number of fields: 40 without a staff session, 400 with one;
* each field: at most ``MAX_FIELD_CHARS`` characters (the longest text a form takes is 2,000).

A larger body is a 413; more fields, a longer field, a body that is not UTF-8 url-encoding or
one that holds a NUL (which PostgreSQL cannot store) a 400; another content type a 415; each
an error page in the request's language, never a 500. Then the form's CSRF token is checked
(403, ``app/csrf.py``).

Staff handlers call ``require_page_user`` first: the session decides both the limits and what
the token is bound to.

Forms that upload files or carry long texts (the online request's pages) are multipart:
``read_multipart_form`` reads them as the API reads its uploads
(``app.api.online_documents.read_multipart``, with the limits the caller gives), then checks
the CSRF token the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from app import csrf
from app.api.http import PayloadTooLarge, read_body
from app.api.online_documents import Multipart, read_multipart
from core.errors import DomainError

Form = ImmutableMultiDict[str, str]

MAX_FIELD_CHARS = 10_000


@dataclass(frozen=True)
class Limits:
    body_bytes: int
    fields: int


ANONYMOUS = Limits(body_bytes=16 * 1024, fields=40)
STAFF = Limits(body_bytes=64 * 1024, fields=400)


class FormTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "This form is too large to be sent. Please shorten your entries and try again."


class FormOverLimits(DomainError):
    status = 400
    code = "bad_request"
    message = ("This form has more fields or longer entries than it may have. "
               "Please shorten your entries and try again.")


class FormUnreadable(DomainError):
    status = 400
    code = "bad_request"
    message = "This form could not be read. Please reload the page and try again."


class FormContentType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "Please send this form from its page on this site."


def limits_for(request: Request) -> Limits:
    return STAFF if getattr(request.state, "staff_user", None) is not None else ANONYMOUS


async def read_form(request: Request) -> Form:
    """The posted url-encoded form, within the limits and with a valid CSRF token."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise FormContentType()
    limits = limits_for(request)
    try:
        body = await read_body(request, limits.body_bytes)
    except PayloadTooLarge as exc:
        raise FormTooLarge() from exc
    if content_type == "" and body:
        raise FormContentType()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=limits.fields, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise FormUnreadable() from exc
    except ValueError as exc:  # more fields than max_num_fields
        raise FormOverLimits() from exc
    for key, value in pairs:
        if len(key) > MAX_FIELD_CHARS or len(value) > MAX_FIELD_CHARS:
            raise FormOverLimits()
        if "\x00" in key or "\x00" in value:
            raise FormUnreadable()
    form: Form = ImmutableMultiDict(pairs)
    csrf.check(request, form)
    return form


async def read_multipart_form(request: Request, *, max_bytes: int, max_files: int,
                              max_fields: int) -> Multipart:
    """The posted multipart form (see the module doc), with a valid CSRF token. A url-encoded
    body is read as such first: a forged form is refused for its token (403), like any other."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        await read_form(request)
        raise FormContentType()
    try:
        body = await read_multipart(request, max_bytes=max_bytes, max_files=max_files,
                                    max_fields=max_fields)
    except PayloadTooLarge as exc:
        raise FormTooLarge() from exc
    csrf.check(request, body.fields)
    return body
