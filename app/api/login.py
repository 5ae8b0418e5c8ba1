"""Signing in over HTTP: the password, its throttling, and the second factor. The token endpoint
(``app/api/auth.py``) and the login pages (``app/pages/staff.py``, ``app/pages/second_factor.py``)
call these; the guards and the session cookie are ``app/auth.py``.

Throttling has two layers: a per-IP limit (rule ``login``) and a per-address counter that locks
the account for ``login_lockout_minutes`` after ``login_max_failures`` failures. Unknown
addresses are counted the same way (in the rate-limit store) and checked against a dummy hash,
so neither the answer nor its timing tells whether an account exists. A wrong second factor
counts like a wrong password, and the counter of an account with a second factor is reset only
when both steps succeed: a known password does not buy unlimited guesses at the code.

A web login of an account with a second factor opens a session in the stage ``otp``, one that
must set one up (``BUERO_STAFF_TOTP_REQUIRED``) in the stage ``enrol``; such a session opens
no staff page but that step (``app/auth.py``). The API asks for the code in the same request
(``"otp"``); an account without a second factor gets its token with the password alone, as
the API always did.
"""

from __future__ import annotations

import datetime as dt

from limits import RateLimitItemPerMinute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.api.http import client_key
from app.auth import SESSION_COOKIE, SessionExpired
from app.context import AppContext, ctx
from core.audit import Actor, record
from core.errors import DomainError, Forbidden
from core.signing import sign, unsign
from core.types import utcnow
from staff import passwords, totp
from staff.models import StaffSession, StaffUser
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

# How long a half-done web login waits for its code, or for the second factor to be set up.
PENDING_LIFETIME = {"otp": dt.timedelta(minutes=10), "enrol": dt.timedelta(minutes=30)}
ENROL_SECRET_SECONDS = 30 * 60


class PasswordLoginDisabled(Forbidden):
    code = "password_login_disabled"
    message = "Sign-in with a password is switched off here. Please use single sign-on."


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
    password or code). Admins read them at /admin/audit (action ``staff.login_failed``)."""
    async with state.db.transaction(write=True) as session:
        record(session, Actor("anonymous", None, address), "staff.login_failed", "staff_user",
               user.id if user is not None and user.id is not None else "",
               {"client": client_key(request), "reason": why})


async def login(request: Request, email: str, password: str, *, kind: str,
                otp: str | None = None) -> tuple[StaffUser, NewSession]:
    """Check the credentials and open a session of ``kind`` ("web" or "api").

    Raises ``PasswordLoginDisabled``, ``RateLimited`` (per IP), ``LoginLocked`` or
    ``InvalidCredentials``; for the API also ``OtpRequired``, ``InvalidOtp`` or ``OtpReused``.
    Unknown addresses, inactive and locked accounts still verify a (dummy) hash, so every
    answer takes about as long as a real check. A web session may come back unfinished (its
    ``stage``, see the module's docstring).
    """
    state = ctx(request)
    if not state.settings.staff_password_login:
        raise PasswordLoginDisabled()
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
    async with state.db.transaction() as session:
        enrolled = await totp.is_enrolled(session, user.id)
    stage, method = "full", None
    if enrolled and kind == "api":
        if not otp:
            raise totp.OtpRequired()
        method = await _second_factor(request, user, otp, now)
    elif enrolled:
        stage = "otp"
    elif kind == "web" and totp.required(user.role, state.settings.staff_totp_required):
        stage = "enrol"
    async with state.db.transaction(write=True) as session:
        await record_login_success(session, user.id, now=now, new_hash=new_hash,
                                   finished=stage == "full")
        new = await _open(state, session, user, kind=kind, stage=stage, method=method, now=now)
    return user, new


async def _open(state: AppContext, session: AsyncSession, user: StaffUser, *, kind: str,
                stage: str, method: str | None, now: dt.datetime) -> NewSession:
    assert user.id is not None
    settings = state.settings
    if stage == "full":
        hours = settings.staff_session_hours if kind == "web" else settings.api_token_hours
        lifetime = dt.timedelta(hours=hours)
        detail: dict[str, object] = {"kind": kind}
        if method is not None:
            detail["second_factor"] = method
        record(session, staff_actor(user), "staff.login", "staff_user", user.id, detail)
    else:
        lifetime = PENDING_LIFETIME[stage]
    return await open_session(session, state.secret_key, user.id, kind=kind, lifetime=lifetime,
                              now=now, stage=stage)


async def _second_factor(request: Request, user: StaffUser, code: str, now: dt.datetime) -> str:
    """Accept ``code`` as the user's second factor ("totp" or "recovery"), or count and audit
    the failure (it may lock the account) and raise it."""
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            return await totp.check(session, state.secret_key, user, code[:100], now)
    except (totp.InvalidOtp, totp.OtpReused) as exc:
        reason = "second_factor_reused" if isinstance(exc, totp.OtpReused) else "second_factor"
        await _audit_failure(state, request, user, user.email, reason)
        if await _count_failure(state, user, user.email, now):
            raise LoginLocked(minutes=state.settings.login_lockout_minutes) from exc
        raise


# --- the web login's second step ------------------------------------------------------------------


async def pending_login(request: Request, stages: tuple[str, ...]) -> tuple[
    StaffSession, StaffUser
]:
    """The browser's session in one of ``stages``; ``SessionExpired`` when there is none."""
    state = ctx(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with state.db.transaction() as session:
        found = await find_session_user(session, state.secret_key, token, kind="web",
                                        now=utcnow(), stages=stages)
    if found is None:
        raise SessionExpired()
    return found


async def finish_with_code(request: Request, code: str) -> tuple[StaffUser, NewSession]:
    """The second step of a web login: the code (or a recovery code) for a session in the stage
    ``otp``. The half-done session is replaced by a full one (a new token)."""
    state = ctx(request)
    await state.limiter.hit("login", client_key(request))
    _pending, user = await pending_login(request, ("otp",))
    now = utcnow()
    assert user.id is not None
    if user.locked_until is not None and user.locked_until > now:
        await _end_pending(request)
        raise LoginLocked(minutes=state.settings.login_lockout_minutes)
    try:
        method = await _second_factor(request, user, code, now)
    except LoginLocked:
        await _end_pending(request)
        raise
    return user, await _promote(request, user, method, now)


async def _end_pending(request: Request) -> None:
    state = ctx(request)
    async with state.db.transaction(write=True) as session:
        await close_session(session, state.secret_key, request.cookies.get(SESSION_COOKIE, ""))


async def _promote(request: Request, user: StaffUser, method: str, now: dt.datetime
                   ) -> NewSession:
    state = ctx(request)
    assert user.id is not None
    async with state.db.transaction(write=True) as session:
        await close_session(session, state.secret_key, request.cookies.get(SESSION_COOKIE, ""))
        await record_login_success(session, user.id, now=now, new_hash=None)
        return await _open(state, session, user, kind="web", stage="full", method=method,
                           now=now)


# --- setting up the second factor ---------------------------------------------------------------


def _enrol_purpose(pending: StaffSession) -> str:
    # The secret offered on the page is signed for this session only: another session (or
    # another account) cannot confirm a secret it was not shown.
    return f"totp-enrol:{pending.token_hash}"


def offer_secret(request: Request, pending: StaffSession) -> tuple[str, str]:
    """A new secret to show on the enrolment page, and its signed copy for the form. Nothing
    is stored until a code confirms it (a GET changes no state)."""
    secret = totp.new_secret()
    return secret, sign(ctx(request).secret_key, _enrol_purpose(pending), secret)


def offered_secret(request: Request, pending: StaffSession, signed: str) -> str | None:
    return unsign(ctx(request).secret_key, _enrol_purpose(pending), signed,
                  ENROL_SECRET_SECONDS)


class EnrolmentExpired(DomainError):
    status = 400
    code = "enrolment_expired"
    message = "The set-up has expired. Please scan the new QR code and enter its code."


async def enrol(request: Request, signed_secret: str, code: str) -> tuple[
    list[str], NewSession | None
]:
    """Confirm the offered secret with a code: the recovery codes, and for a login that had to
    enrol the full session that replaces it (None for a signed-in user who chose to)."""
    state = ctx(request)
    await state.limiter.hit("login", client_key(request))
    pending, user = await pending_login(request, ("enrol", "full"))
    secret = offered_secret(request, pending, signed_secret)
    if secret is None:
        raise EnrolmentExpired()
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        codes = await totp.enrol(session, state.secret_key, user, secret, code[:100], now)
    if pending.stage == "full":
        return codes, None
    return codes, await _promote(request, user, "enrolled", now)
