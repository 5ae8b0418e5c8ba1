"""One error shape: ``{"error": {"code", "message", "details"?}}``, in the request's language.

The API answers every error so, and so do the page endpoints that our pages' scripts call
(``answer_in_json``: the clerk's call token, the desk panels); ``details`` lists the fields
concerned (``{"field", "message"}``). Pages get the same errors rendered as an HTML page.
Nothing a client sends may produce a 500; an unexpected exception is logged (without request
data) and answered with a generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from app.context import ctx
from app.templating import request_translator
from core.errors import DomainError
from tenants.links import site_path

log = logging.getLogger("buergerbuero.errors")

HTTP_CODES = {
    400: ("bad_request", "The request cannot be processed."),
    401: ("unauthorized", "Authentication is required or the link is invalid."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    409: ("conflict", "This conflicts with the current state."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This content type is not supported."),
    422: ("validation_error", "The input is not valid."),
    429: ("rate_limited", "Too many requests. Please wait a moment and try again."),
    500: ("internal_error", "An unexpected error occurred. Please try again later."),
}


def answer_in_json(request: Request) -> None:
    """Answer this request's errors in the JSON shape, though it is not under ``/api/`` (an
    endpoint a page's script calls)."""
    request.state.json_errors = True


def wants_json(request: Request) -> bool:
    return site_path(request.scope).startswith("/api/") or \
        getattr(request.state, "json_errors", False) is True


def json_error(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one JSON error body; ``message`` is already in the request's language."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def error_response(
    request: Request,
    status: int,
    code: str,
    msgid: str,
    params: dict[str, Any] | None = None,
    details: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    field: str | None = None,
) -> Response:
    translator = request_translator(request, ctx(request).i18n)
    message = translator.gettext(msgid, **(params or {}))
    if wants_json(request):
        if field and not details:
            details = [{"field": field, "message": message}]
        return json_error(status, code, message, details, headers)
    templates = ctx(request).templates
    try:
        page = templates.response(
            request, "error.html", {"status": status, "message": message}, status=status
        )
        # Pages need the headers too (Location of a redirect to the login, Retry-After).
        page.headers.update(headers or {})
        return page
    except Exception:  # the error page itself must never fail
        log.exception("error page failed")
        return HTMLResponse(message, status_code=status)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": "60"} if exc.status == 429 else None
    details = exc.details
    if exc.problems:
        translator = request_translator(request, ctx(request).i18n)
        details = [{"field": field, "message": translator.gettext(msgid, **params)}
                   for field, msgid, params in exc.problems] + details
    return error_response(
        request, exc.status, exc.code, exc.msgid, exc.params, details, headers, exc.field
    )


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, msgid = HTTP_CODES.get(exc.status_code, ("error", "The request cannot be processed."))
    return error_response(request, exc.status_code, code, msgid, headers=exc.headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s: %s", request.method, request.url.path,
              type(exc).__name__, exc_info=exc)
    code, msgid = HTTP_CODES[500]
    return error_response(request, 500, code, msgid)


exception_handlers = {
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    Exception: server_error_handler,
}
