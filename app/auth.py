"""Staff authentication over HTTP: the guards of pages and API, the session cookie and bearer
token (the sessions themselves are ``staff/sessions.py``; signing in is ``app/api/login.py``).

A web session that still owes a step of its login (``stage`` ``otp`` or ``enrol``) opens no
page: every page sends it to that step.

The forms of a signed-in page are protected by the one CSRF mechanism of all pages
(``app/csrf.py``); ``require_page_user`` binds its tokens to the session.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app import csrf
from app.api.http import bearer_token, cookie_secure
from app.context import ctx
from app.errors import answer_in_json
from core.errors import Forbidden, Unauthorized
from core.types import utcnow
from staff.models import Role, StaffUser
from staff.sessions import NewSession, close_session, find_session_user
from tenants.links import safe_next, site_path, site_url

SESSION_COOKIE = "buero_staff"
STAGE_PAGES = {"full": "/staff", "otp": "/staff/login/code", "enrol": "/staff/totp"}


class SessionExpired(Unauthorized):
    message = "Your session has expired. Please log in again."


# --- guards ------------------------------------------------------------------------------------


def _check_role(user: StaffUser, role: str | None) -> None:
    """``role``: None any person's account, ``any`` also an integration account (its own
    token), ``admin``, ``integration`` (an admin or an integration account), or
    ``platform_admin`` (the installation's, who opens nothing of a municipality)."""
    if (user.role == Role.platform_admin.value) != (role == Role.platform_admin.value):
        raise Forbidden("This needs an administrator account of the platform."
                        if role == Role.platform_admin.value else
                        "A platform administrator's account opens only the platform API.")
    if user.role == Role.integration.value and role not in ("any", Role.integration.value):
        raise Forbidden("This account may only send document status updates.")
    if role == Role.admin.value and user.role != Role.admin.value:
        raise Forbidden("This needs an administrator account.")
    if role == Role.integration.value and user.role == Role.clerk.value:
        raise Forbidden("This needs an administrator or integration account.")


async def require_api_user(request: HTTPConnection, *, role: str | None = None) -> StaffUser:
    """The staff user of the request's bearer token; 401 without a valid one, 403 for the role."""
    token = bearer_token(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        found = await find_session_user(session, state.secret_key, token, kind="api",
                                        now=utcnow())
    if found is None:
        raise Unauthorized()
    user = found[1]
    _check_role(user, role)
    request.state.staff_user, request.state.staff_session_id = user, found[0].id
    return user


async def api_token_logout(request: HTTPConnection) -> None:
    token = bearer_token(request)
    state = ctx(request)
    async with state.db.transaction(write=True) as session:
        await close_session(session, state.secret_key, token)


async def require_page_user(request: Request, *, role: str | None = None,
                            stages: tuple[str, ...] = ("full",)) -> StaffUser:
    """The user of the session cookie; without one, a redirect to the login page, and for a
    login still in another stage, to its step."""
    state = ctx(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if token:
        async with state.db.transaction() as session:
            found = await find_session_user(session, state.secret_key, token, kind="web",
                                            now=utcnow(), stages=tuple(STAGE_PAGES))
    if found is None:
        target = site_path(request.scope) + (f"?{request.url.query}" if request.url.query else "")
        location = "/staff/login?next=" + quote(safe_next(target), safe="/")
        raise HTTPException(303, headers={"Location": site_url(request.scope, location)})
    staff_session, user = found
    if staff_session.stage not in stages:
        location = site_url(request.scope, STAGE_PAGES[staff_session.stage])
        raise HTTPException(303, headers={"Location": location})
    request.state.staff_user, request.state.staff_session_id = user, staff_session.id
    csrf.bind_to_session(request, staff_session.token_hash)
    _check_role(user, role)
    return user


async def require_script_user(request: Request) -> StaffUser:
    """The session's user for a request of a page's script: its errors are answered in JSON,
    and without a session with 401 rather than a redirect to the login page."""
    answer_in_json(request)
    try:
        return await require_page_user(request)
    except HTTPException as exc:
        if exc.status_code != 303:
            raise
        raise SessionExpired() from exc


# --- the session cookie ------------------------------------------------------------------------


def set_session_cookie(request: Request, response: Response, new: NewSession) -> None:
    max_age = int((new.expires_at - utcnow()).total_seconds())
    response.set_cookie(SESSION_COOKIE, new.token, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=cookie_secure(request))


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=cookie_secure(request))


async def page_logout(request: Request) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return
    state = ctx(request)
    async with state.db.transaction(write=True) as session:
        await close_session(session, state.secret_key, token)
