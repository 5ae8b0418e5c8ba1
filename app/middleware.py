"""Pure ASGI middleware: language choice, security headers, request ids, outages."""

from __future__ import annotations

import logging
import random
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.admission import AdmissionGate
from core.i18n import (
    DEFAULT_LANGUAGE,
    from_accept_language,
    pick_language,
)
from core.log_lines import REQUEST_ID, redact_path
from core.outage import OutageGuard

LANG_COOKIE = "lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class LanguageMiddleware:
    """``?lang=tr`` picks (and remembers, for pages) the language; German by default.

    The API follows ``?lang`` and then ``Accept-Language``; pages follow ``?lang`` and then the
    remembered choice, so a German browser setting never hides the language menu's choice.
    Staff pages and calls take German for any language but German and English, decided on the
    path below a municipality's prefix (``app.templating.request_language``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        chosen = _lang_param(scope.get("query_string", b""))
        is_api = scope["path"].startswith("/api/")
        if chosen:
            lang = chosen
        elif is_api:
            lang = from_accept_language(_header(scope, b"accept-language"))
        else:
            cookie = SimpleCookie(_header(scope, b"cookie") or "")
            morsel = cookie.get(LANG_COOKIE)
            lang = pick_language(morsel.value if morsel else None) or DEFAULT_LANGUAGE
        scope.setdefault("state", {})["lang"] = lang

        if not chosen or is_api or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append(
                    "set-cookie",
                    f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _lang_param(query_string: bytes) -> str | None:
    # Most requests carry no ``lang``: skip parsing their query string (a percent-encoded one is
    # parsed, since its key might spell "lang" in escapes).
    if b"lang" not in query_string and b"%" not in query_string:
        return None
    values = parse_qs(query_string.decode("latin-1")).get("lang")
    return pick_language(values[0] if values else None)


SERVICE_UNAVAILABLE = "The service is briefly unavailable. Please try again in a moment."
BUSY = "Very many requests are arriving right now. Please try again in a moment."

# Headers every response gets, replacing any the handler set; and defaults it may override.
_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=(self), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_CSP = (b"content-security-policy", CSP.encode())
_NO_STORE = (b"cache-control", b"no-store")


# Request ids correlate log lines: they must be unique, not unpredictable (a client may even send
# its own). Drawn from a generator seeded once by the OS instead of a system call per request.
_ids = random.Random()  # noqa: S311 (not a secret, see above)


class SecurityHeadersMiddleware:
    """The security headers (and ``Cache-Control: no-store`` unless the handler chose, or the
    file is static) on every response, plus the request id.

    Written on the raw header list in one pass: this runs for every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts
        self.always = _ALWAYS + ((_HSTS,) if hsts else ())
        self.replaced = frozenset(name for name, _ in self.always) | {b"x-request-id"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = (_header(scope, b"x-request-id") or f"{_ids.getrandbits(64):016x}")[:64]
        scope.setdefault("state", {})["request_id"] = request_id
        static = scope["path"].startswith("/static/")
        replaced, always = self.replaced, self.always

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                present: set[bytes] = set()
                for name, value in message.get("headers", ()):
                    lowered = name.lower()
                    if lowered not in replaced:
                        headers.append((name, value))
                        present.add(lowered)
                if b"content-security-policy" not in present:
                    headers.append(_CSP)
                headers.extend(always)
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                if not static and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        # Log lines written while serving this request carry its id (see core/log_lines.py).
        reset = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(reset)


class NulGuardMiddleware:
    """Refuse a NUL character in the path or query string with 400 before any handler runs.

    PostgreSQL cannot store NUL in text, so such input would otherwise fail deep inside a query;
    no legitimate client sends it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _carries_nul(scope):
            from starlette.requests import Request

            from app.errors import error_response

            request = Request(scope, receive)
            response = error_response(
                request, 400, "bad_request", "The request contains characters that are not allowed."
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _carries_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


def outage_guard(app: ASGIApp, *, retry_after: int) -> OutageGuard:
    """While the database or Redis is away: 503 with ``Retry-After``, in the error shape or as
    the "try again in a moment" page (``core/outage.py``)."""
    from starlette.requests import Request

    from app.errors import error_response

    def answer(scope: Scope, receive: Receive) -> ASGIApp:
        return error_response(Request(scope, receive), 503, "service_unavailable",
                              SERVICE_UNAVAILABLE, headers={"Retry-After": str(retry_after)})

    return OutageGuard(app, answer=answer, logger=logging.getLogger("buergerbuero.outage"),
                       describe=lambda scope: f"{scope['method']} {redact_path(scope['path'])}")


def admission_gate(app: ASGIApp, *, max_active: int, max_waiting: int,
                   retry_after: int) -> AdmissionGate:
    """People's pages before the public API when the process is overloaded
    (``core/admission.py``); an API request beyond the waiting queue gets 503."""
    from starlette.requests import Request

    from app.errors import error_response

    def refuse(scope: Scope, receive: Receive) -> ASGIApp:
        return error_response(Request(scope, receive), 503, "busy", BUSY,
                              headers={"Retry-After": str(retry_after)})

    return AdmissionGate(app, max_active=max_active, max_waiting=max_waiting, refuse=refuse)
