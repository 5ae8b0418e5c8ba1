"""Request plumbing for the citizen pages: rendering with a CSRF cookie, reading and checking
POSTed forms, and the language of pages reached from an e-mail link."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.context import ctx
from app.http import client_ip
from app.middleware import LANG_COOKIE
from app.pages.citizen_forms import (
    CSRF_COOKIE,
    CSRF_COOKIE_MAX_AGE,
    CSRF_FIELD,
    N_,
    csrf_cookie_ok,
    csrf_token_for,
    csrf_valid,
    new_csrf_cookie,
)
from app.templating import request_translator
from core.errors import Forbidden
from core.i18n import LANGUAGES, Translator

MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 40


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = N_(
        "For your security this form could not be sent. "
        "Please go back, reload the page and try again."
    )


def translator(request: Request) -> Translator:
    return request_translator(request, ctx(request).i18n)


def secure_cookies(request: Request) -> bool:
    return ctx(request).settings.base_url.startswith("https://")


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """Render a citizen page; every page carries a CSRF token for its forms.

    The cookie half of the token is set on the first page a browser sees and then reused, so
    several open tabs all stay valid.
    """
    state = ctx(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not csrf_cookie_ok(cookie):
        cookie = fresh = new_csrf_cookie()
    assert cookie is not None
    request.state.csrf_token = csrf_token_for(state.secret_key, cookie)
    response = state.templates.response(request, name, context, status)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE, fresh, max_age=CSRF_COOKIE_MAX_AGE, path="/", httponly=True,
            samesite="lax", secure=secure_cookies(request),
        )
    return response


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form with a valid CSRF token; 400/413/415 or 403 otherwise.

    Our forms are tiny and never upload files, so the body is read with a hard size limit and
    parsed here instead of buffering whatever a client sends.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(415)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400) from exc
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise HTTPException(400)  # NUL cannot be stored (PostgreSQL refuses it)
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)  # the first value wins: our forms send each name once
    if not csrf_valid(ctx(request).secret_key, request.cookies.get(CSRF_COOKIE),
                      form.get(CSRF_FIELD)):
        raise CsrfFailed()
    return form


async def limit(request: Request, rule: str) -> None:
    await ctx(request).limiter.hit(rule, client_ip(request))


def prefer_language(request: Request, lang: str) -> None:
    """Pages opened from an e-mail speak the booking's language unless the citizen chose one."""
    if "lang" in request.query_params or LANG_COOKIE in request.cookies:
        return
    if lang in LANGUAGES:
        request.state.lang = lang
