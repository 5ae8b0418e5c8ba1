"""The second factor's pages: the code after the password (``/staff/login/code``), setting up
TOTP with its recovery codes (``/staff/totp``), and new recovery codes. The logic is
``app/api/login.py`` and ``staff/totp.py``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app import csrf
from app.api.login import (
    EnrolmentExpired,
    finish_with_code,
    offer_secret,
    offered_secret,
    pending_login,
)
from app.api.login import enrol as confirm_enrolment
from app.api.routing import ID
from app.auth import SessionExpired, require_page_user, set_session_cookie
from app.context import ctx
from app.pages.forms import read_form
from app.pages.staff_http import error_message, redirect
from app.templating import render, translator
from core.errors import RateLimited
from staff import totp
from staff.models import StaffSession, StaffUser
from staff.service import get_user, staff_actor
from staff.sessions import LoginLocked
from tenants.links import safe_next


async def _pending(request: Request, stages: tuple[str, ...]) -> tuple[StaffSession, StaffUser]:
    """The half-done login (or, for ``full``, the session) whose forms this page shows."""
    pending, user = await pending_login(request, stages)
    csrf.bind_to_session(request, pending.token_hash)
    if pending.stage == "full":
        request.state.staff_user = user  # the staff navigation, as on every signed-in page
    return pending, user


def _back_to_login(request: Request) -> Response:
    return redirect("/staff/login?next=" + quote(_next(request), safe="/"))


async def _expired_post(request: Request) -> Response:
    """A form of a login that ended (or never was): its token is still checked (403 without
    one, as for every form), then the way back to the login page."""
    await read_form(request)
    return _back_to_login(request)


def _next(request: Request, form: Any = None) -> str:
    value = form.get("next") if form is not None else request.query_params.get("next")
    return safe_next(value if isinstance(value, str) else None)


# --- the code after the password ----------------------------------------------------------------


def _code_page(request: Request, next_url: str, *, error: str | None = None,
               alert: str | None = None, status: int = 200) -> Response:
    return render(request, "staff/login_code.html", {
        "next_url": next_url, "errors": {"otp": error} if error else {}, "alert": alert,
        "switch_url": "/staff/login/code",
    }, status)


async def code_page(request: Request) -> Response:
    try:
        await _pending(request, ("otp",))
    except SessionExpired:
        return _back_to_login(request)
    return _code_page(request, _next(request))


async def code_submit(request: Request) -> Response:
    try:
        await _pending(request, ("otp",))
    except SessionExpired:
        return await _expired_post(request)
    form = await read_form(request)
    next_url = _next(request, form)
    t = translator(request)
    code = form.get("otp", "").strip()
    if not code:
        return _code_page(request, next_url, status=422,
                          error=t.gettext("Please enter the code from your authenticator app."))
    try:
        _user, new = await finish_with_code(request, code)
    except (totp.InvalidOtp, totp.OtpReused) as exc:
        return _code_page(request, next_url, error=error_message(t, exc), status=401)
    except (LoginLocked, RateLimited) as exc:
        return _code_page(request, next_url, alert=error_message(t, exc), status=429)
    except SessionExpired:
        return _back_to_login(request)
    response = redirect(next_url)
    set_session_cookie(request, response, new)
    return response


# --- setting up the second factor ---------------------------------------------------------------


def _enrol_page(request: Request, pending: StaffSession, user: StaffUser, next_url: str, *,
                secret: str | None = None, signed: str | None = None, error: str | None = None,
                alert: str | None = None, status: int = 200) -> Response:
    if secret is None or signed is None:
        secret, signed = offer_secret(request, pending)
    uri = totp.provisioning_uri(secret, user.email)
    return render(request, "staff/totp_enrol.html", {
        "qr": totp.qr_data_uri(uri), "secret": secret, "secret_grouped": totp.grouped(secret),
        "signed_secret": signed, "next_url": next_url, "errors": {"otp": error} if error else {},
        "alert": alert, "required": pending.stage == "enrol", "switch_url": "/staff/totp",
    }, status)


async def enrol_page(request: Request) -> Response:
    try:
        pending, user = await _pending(request, ("enrol", "full"))
    except SessionExpired:
        return _back_to_login(request)
    assert user.id is not None
    async with ctx(request).db.transaction() as session:
        enrolment = await totp.enrolment_of(session, user.id)
        left = await totp.recovery_codes_left(session, user.id) if enrolment else 0
    if enrolment is not None:
        return render(request, "staff/totp_status.html", {
            "enrolled_at": translator(request).datetime(enrolment.enrolled_at, "Europe/Berlin"),
            "codes_left": left, "section": "totp", "switch_url": "/staff/totp",
        })
    return _enrol_page(request, pending, user, _next(request))


async def enrol_submit(request: Request) -> Response:
    try:
        pending, user = await _pending(request, ("enrol", "full"))
    except SessionExpired:
        return await _expired_post(request)
    form = await read_form(request)
    next_url = _next(request, form)
    t = translator(request)
    signed, code = form.get("secret", ""), form.get("otp", "").strip()
    try:
        codes, new = await confirm_enrolment(request, signed, code)
    except totp.AlreadyEnrolled:
        return redirect("/staff/totp")
    except EnrolmentExpired as exc:
        return _enrol_page(request, pending, user, next_url, alert=error_message(t, exc),
                           status=exc.status)
    except (totp.InvalidOtp, RateLimited) as exc:
        # The same secret again: the app the user just set up keeps working.
        secret = offered_secret(request, pending, signed)
        return _enrol_page(request, pending, user, next_url, secret=secret, signed=signed,
                           error=error_message(t, exc) if secret else None,
                           status=429 if isinstance(exc, RateLimited) else 422)
    if new is not None:
        request.state.staff_user = user  # now fully signed in: the page shows the navigation
    response = _codes_page(request, codes, next_url)
    if new is not None:
        set_session_cookie(request, response, new)
    return response


def _codes_page(request: Request, codes: list[str], next_url: str) -> Response:
    """The recovery codes, shown this once (the page is not cached: ``Cache-Control``)."""
    response = render(request, "staff/totp_codes.html", {
        "codes": codes, "next_url": next_url, "section": "totp",
    })
    response.headers["Cache-Control"] = "no-store"
    return response


async def renew_codes(request: Request) -> Response:
    user = await require_page_user(request)
    await read_form(request)
    state = ctx(request)
    assert user.id is not None
    async with state.db.transaction(write=True) as session:
        if not await totp.is_enrolled(session, user.id):
            return redirect("/staff/totp")
        codes = await totp.new_recovery_codes(session, state.secret_key, user)
    return _codes_page(request, codes, "/staff")


# --- an admin removes someone's second factor ---------------------------------------------------


async def admin_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    user_id = request.path_params["id"]
    async with ctx(request).db.transaction() as session:
        user = await get_user(session, user_id)
        enrolled = await totp.is_enrolled(session, user_id)
    return render(request, "admin/second_factor.html", {
        "section": "admin", "user": user, "enrolled": enrolled,
        "done": request.query_params.get("done") == "reset",
    })


async def admin_reset(request: Request) -> Response:
    admin = await require_page_user(request, role="admin")
    await read_form(request)
    user_id = request.path_params["id"]
    async with ctx(request).db.transaction(write=True) as session:
        await get_user(session, user_id)
        await totp.reset(session, staff_actor(admin), user_id)
    return redirect(f"/admin/users/{user_id}/second-factor?done=reset")


routes: list[BaseRoute] = [
    Route("/staff/login/code", code_page, methods=["GET"]),
    Route("/staff/login/code", code_submit, methods=["POST"]),
    Route("/staff/totp", enrol_page, methods=["GET"]),
    Route("/staff/totp", enrol_submit, methods=["POST"]),
    Route("/staff/totp/recovery-codes", renew_codes, methods=["POST"]),
    Route(f"/admin/users/{ID}/second-factor", admin_page, methods=["GET"]),
    Route(f"/admin/users/{ID}/second-factor", admin_reset, methods=["POST"]),
]
