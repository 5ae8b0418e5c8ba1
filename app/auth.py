"""Staff authentication over HTTP: login with throttling, the session cookie and bearer token
(the sessions themselves are ``staff/sessions.py``).

Throttling has two layers: a per-IP limit (rule ``login``) and a per-address counter that locks
the account for ``login_lockout_minutes`` after ``login_max_failures`` failures. Unknown
addresses are counted the same way (in the rate-limit store) and checked against a dummy hash,
so neither the answer nor its timing tells whether an account exists.

The forms of a signed-in page are protected by the one CSRF mechanism of all pages
(``app/csrf.py``); ``require_page_user`` binds its tokens to the session.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from limits import RateLimitItemPerMinute
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app import csrf
from app.api.http import bearer_token, client_key, cookie_secure
from app.context import AppContext, ctx
from app.errors import answer_in_json
from core.audit import Actor, record
from core.errors import Forbidden, Unauthorized
from core.types import utcnow
from staff import passwords
from staff.models import Role, StaffUser
from staff.service import (
    find_user_by_email,
    normalize_login_email,
    record_login_failure,
    record_login_success,
    staff_actor,
)
from staff.sessions import (
    InvalidCredentials,
    LoginLocked,
    NewSession,
    close_session,
    find_session_user,
    open_session,
)

SESSION_COOKIE = "buero_staff"


class SessionExpired(Unauthorized):
    message = "Your session has expired. Please log in again."


# --- login -------------------------------------------------------------------------------------


class _UnknownAddresses:
    """Failure counts of addresses without an account, kept in the rate-limit store (memory or
    Redis), so that they lock exactly like accounts do and reveal nothing."""

    def __init__(self, state: AppContext) -> None:
        settings = state.settings
        self._item = RateLimitItemPerMinute(settings.login_max_failures,
                                            settings.login_lockout_minutes)
        self._limiter = state.limiter

    async def locked(self, address: str) -> bool:
        return not await self._limiter.window_test(self._item, "login-failures", address)

    async def fail(self, address: str) -> bool:
        """Count a failure; True when the address is now locked."""
        await self._limiter.window_hit(self._item, "login-failures", address)
        return await self.locked(address)


async def _count_failure(state: AppContext, user: StaffUser | None, address: str,
                         now: dt.datetime) -> bool:
    """Count a failed attempt; True when it locked the account (or address)."""
    if user is None or user.id is None:
        return await _UnknownAddresses(state).fail(address)
    minutes = state.settings.login_lockout_minutes
    async with state.db.transaction(write=True) as session:
        locked = await record_login_failure(
            session, user.id, now=now, max_failures=state.settings.login_max_failures,
            lockout=dt.timedelta(minutes=minutes),
        )
        if locked:
            record(session, Actor.system(), "staff.lockout", "staff_user", user.id,
                   {"minutes": minutes})
    return locked


async def _audit_failure(state: AppContext, request: Request, user: StaffUser | None,
                         address: str, why: str) -> None:
    """A failed sign-in in the audit log: the address tried, the client, why (never the
    password). Admins read them at /admin/audit (action ``staff.login_failed``)."""
    async with state.db.transaction(write=True) as session:
        record(session, Actor("anonymous", None, address), "staff.login_failed", "staff_user",
               user.id if user is not None and user.id is not None else "",
               {"client": client_key(request), "reason": why})


async def login(request: Request, email: str, password: str, *, kind: str) -> tuple[
    StaffUser, NewSession
]:
    """Check the credentials and open a session of ``kind`` ("web" or "api").

    Raises ``RateLimited`` (per IP), ``LoginLocked`` or ``InvalidCredentials``. Unknown
    addresses, inactive and locked accounts still verify a (dummy) hash, so every answer takes
    about as long as a real check.
    """
    state = ctx(request)
    await state.limiter.hit("login", client_key(request))
    address = normalize_login_email(email)[:254]
    now = utcnow()
    async with state.db.transaction() as session:
        user = await find_user_by_email(session, address)
        if user is not None:
            session.expunge(user)
    if user is None:
        locked = await _UnknownAddresses(state).locked(address)
    else:
        locked = user.locked_until is not None and user.locked_until > now
    checked_hash = user.password_hash if user is not None and user.active and not locked else None
    ok, new_hash = await passwords.verify(checked_hash, password)
    minutes = state.settings.login_lockout_minutes
    if locked or not ok or user is None or user.id is None:
        await _audit_failure(state, request, user, address,
                             "locked" if locked else "unknown" if user is None else "wrong")
    if locked:
        raise LoginLocked(minutes=minutes)
    if not ok or user is None or user.id is None:
        if await _count_failure(state, user, address, now):
            raise LoginLocked(minutes=minutes)
        raise InvalidCredentials()
    settings = state.settings
    hours = settings.staff_session_hours if kind == "web" else settings.api_token_hours
    async with state.db.transaction(write=True) as session:
        await record_login_success(session, user.id, now=now, new_hash=new_hash)
        record(session, staff_actor(user), "staff.login", "staff_user", user.id, {"kind": kind})
        new = await open_session(session, state.secret_key, user.id, kind=kind,
                                 lifetime=dt.timedelta(hours=hours), now=now)
    return user, new


# --- guards ------------------------------------------------------------------------------------


def _check_role(user: StaffUser, role: str | None) -> None:
    if role == Role.admin.value and user.role != Role.admin.value:
        raise Forbidden("This needs an administrator account.")


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


def safe_next(target: str | None, default: str = "/staff") -> str:
    """Only a path on this site (no scheme, no host, no ``//`` or ``/\\``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\\"):
        return default
    return target


async def require_page_user(request: Request, *, role: str | None = None) -> StaffUser:
    """The user of the session cookie; without one, a redirect to the login page."""
    state = ctx(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if token:
        async with state.db.transaction() as session:
            found = await find_session_user(session, state.secret_key, token, kind="web",
                                            now=utcnow())
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = "/staff/login?next=" + quote(safe_next(target), safe="/")
        raise HTTPException(303, headers={"Location": location})
    staff_session, user = found
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
