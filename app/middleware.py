"""Pure ASGI middleware: language choice, security headers, request ids."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import DEFAULT_LANGUAGE, from_accept_language, pick_language
from app.logging_setup import REQUEST_ID

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
    """``?lang=en`` picks (and remembers, for pages) the language; German by default.

    The API follows ``?lang`` and then ``Accept-Language``; pages follow ``?lang`` and then the
    remembered choice, so a German browser setting never hides the English switch and vice versa.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        chosen = pick_language((query.get("lang") or [None])[0])
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


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id[:64]
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Permissions-Policy"] = (
                    "camera=(self), microphone=(self), geolocation=(), payment=()"
                )
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["X-Request-ID"] = request_id[:64]
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                if not path.startswith("/static/"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        # Log lines written while serving this request carry its id (see app/logging_setup.py).
        reset = REQUEST_ID.set(request_id[:64])
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
