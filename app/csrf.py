"""One CSRF protection for every form: a signed double-submit token.

Each browser gets a random cookie (``buero_csrf``: HttpOnly, SameSite=Lax, Secure behind https)
with the first page it is shown. Every form carries ``csrf_token``: the signature
(``core.signing``) of that cookie's value and, for a signed-in member of staff, of their session.

* A forged form from another site sends the cookie along, but cannot read it, and cannot make
  the token without the server's key; a cookie planted through a neighbour host is of no use
  without the key either.
* A staff form's token is bound to its session: it dies with a logout, an expiry or a new
  login, and another account's session in the same browser cannot use it.
* Citizens have no session; their tokens need the cookie only. No state is kept on the server
  for either, so several open tabs stay valid and any instance can check any token.

``read_form`` (``app/pages/forms.py``) checks the token of every page POST; ``render``
(``app/templating.py``) puts it into every page (and sets the cookie where it is missing).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.api.http import cookie_secure
from app.context import ctx
from core.errors import Forbidden
from core.signing import signature, signature_valid
from tenants.links import site_path

COOKIE = "buero_csrf"
FIELD = "csrf_token"
COOKIE_MAX_AGE = 7 * 24 * 3600
_PURPOSE = "csrf"
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_STAFF_AREAS = ("/staff", "/admin")


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = (
        "For your security this form could not be sent. "
        "Please go back, reload the page and try again."
    )


class FormExpired(CsrfFailed):
    """The staff pages' wording: there, a session that ended is the usual cause."""

    message = "The form has expired. Please reload the page and try again."


def bind_to_session(request: Request, session_key: str) -> None:
    """Bind this request's tokens to a signed-in staff session (its stored key, not the
    cookie's secret); ``require_page_user`` calls this."""
    request.state.csrf_session = session_key


def _bound(cookie: str, session_key: str) -> str:
    return f"{cookie}\x00{session_key}"


def token(secret_key: bytes, cookie: str, session_key: str = "") -> str:
    return signature(secret_key, _PURPOSE, _bound(cookie, session_key))


def valid(secret_key: bytes, cookie: str | None, submitted: object,
          session_key: str = "") -> bool:
    """Whether ``submitted`` is the token of this cookie (of our format) and session."""
    if cookie is None or not _COOKIE_VALUE.match(cookie):
        return False
    return signature_valid(secret_key, _PURPOSE, _bound(cookie, session_key), submitted)


def _cookie(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value is not None and _COOKIE_VALUE.match(value) else None


def _session_key(request: Request) -> str:
    value = getattr(request.state, "csrf_session", "")
    return value if isinstance(value, str) else ""


def prepare(request: Request) -> str | None:
    """Make the token for the forms of the page being rendered (``request.state.csrf_token``).

    Returns a new cookie value when the browser has none yet: the caller sets it with
    ``set_cookie`` on the page's response. The cookie is then reused, so that tabs opened
    earlier keep working.
    """
    cookie = _cookie(request)
    fresh = None
    if cookie is None:
        cookie = fresh = secrets.token_urlsafe(32)
    request.state.csrf_token = token(ctx(request).secret_key, cookie, _session_key(request))
    return fresh


def set_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="lax", secure=cookie_secure(request))


def check(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse (403) a form without the token of this browser's cookie (and staff session)."""
    if valid(ctx(request).secret_key, request.cookies.get(COOKIE), form.get(FIELD),
             _session_key(request)):
        return
    if site_path(request.scope).startswith(_STAFF_AREAS):
        raise FormExpired()
    raise CsrfFailed()
