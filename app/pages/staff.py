"""Staff pages: login, logout, and today's agenda (``/staff``)."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    InvalidCredentials,
    LoginLocked,
    check_csrf,
    clear_session_cookie,
    cookie_secure,
    find_session_user,
    login,
    login_csrf_token,
    page_logout,
    require_page_user,
    safe_next,
    set_session_cookie,
)
from app.context import ctx
from app.pages.staff_http import error_message, read_form, redirect, render, translator
from app.staff_service import day_agenda, visible_office_ids
from booking.admin_validation import FIRST_DAY, LAST_DAY
from booking.errors import RateLimited
from booking.models import Office
from booking.types import utcnow

STATUS_KINDS = {
    "reserved": "warning",
    "confirmed": "info",
    "in_call": "success",
    "completed": "success",
    "no_show": "danger",
    "cancelled": "neutral",
}
STATUS_LABELS = {
    "reserved": "Not yet confirmed",
    "confirmed": "Confirmed",
    "in_call": "In the call",
    "completed": "Completed",
    "no_show": "Did not attend",
    "cancelled": "Cancelled",
    "expired": "Hold lapsed",
}


# --- login and logout --------------------------------------------------------------------------


def _login_page(
    request: Request, *, email: str = "", errors: dict[str, str] | None = None,
    alert: str | None = None, notice: str | None = None, status: int = 200,
    next_url: str | None = None,
) -> Response:
    """The login form with a CSRF token bound to a pre-session cookie."""
    state = ctx(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not (16 <= len(cookie) <= 100)
    if fresh:
        cookie = secrets.token_urlsafe(32)
    request.state.csrf_token = login_csrf_token(state.secret_key, cookie)
    next_url = safe_next(next_url or request.query_params.get("next"))
    response = render(request, "staff/login.html", {
        "email": email, "errors": errors or {}, "alert": alert, "notice": notice,
        "next_url": next_url, "switch_url": "/staff/login",
    }, status)
    if fresh:
        response.set_cookie(LOGIN_COOKIE, cookie, max_age=3600 * 12, path="/staff",
                            httponly=True, samesite="lax", secure=cookie_secure(request))
    return response


async def _already_logged_in(request: Request) -> bool:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return False
    state = ctx(request)
    async with state.db.transaction() as session:
        found = await find_session_user(session, state.secret_key, token, kind="web",
                                        now=utcnow())
    return found is not None


async def login_page(request: Request) -> Response:
    if await _already_logged_in(request):
        return redirect(safe_next(request.query_params.get("next")))
    t = translator(request)
    notice = t.gettext("You have been logged out.") if "logged_out" in request.query_params \
        else None
    return _login_page(request, notice=notice)


async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form)
    t = translator(request)
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_url = safe_next(form.get("next"))
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = t.gettext("Please enter your e-mail address.")
    if not password:
        errors["password"] = t.gettext("Please enter your password.")
    if errors:
        return _login_page(request, email=email, errors=errors, status=422, next_url=next_url)
    try:
        _user, new = await login(request, email, password, kind="web")
    except InvalidCredentials as exc:
        errors["password"] = error_message(t, exc)
        return _login_page(request, email=email, errors=errors, status=401,
                           next_url=next_url)
    except (LoginLocked, RateLimited) as exc:
        return _login_page(request, email=email, alert=error_message(t, exc), status=429,
                           next_url=next_url)
    await page_logout(request)  # a login replaces any earlier session of this browser
    response = redirect(next_url)
    set_session_cookie(request, response, new)
    response.delete_cookie(LOGIN_COOKIE, path="/staff")
    return response


async def logout(request: Request) -> Response:
    await require_page_user(request)
    check_csrf(request, await read_form(request))
    await page_logout(request)
    response = redirect("/staff/login?logged_out=1")
    clear_session_cookie(request, response)
    return response


# --- agenda ------------------------------------------------------------------------------------


def _parse_day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _parse_office(value: str | None, allowed: list[int]) -> int | None:
    if value and value.isdigit() and int(value) in allowed:
        return int(value)
    return None


async def agenda(request: Request) -> Response:
    user = await require_page_user(request)
    t = translator(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        office_ids = await visible_office_ids(session, user)
        offices = [o for o in [await session.get(Office, i) for i in office_ids] if o]
        office_id = _parse_office(request.query_params.get("office_id"), office_ids)
        chosen = [office_id] if office_id is not None else office_ids
        zone = ZoneInfo(offices[0].timezone if offices else "Europe/Berlin")
        raw_day = request.query_params.get("date")
        day = _parse_day(raw_day) or utcnow().astimezone(zone).date()
        rows = await day_agenda(session, chosen, day)
        office_options = [(str(o.id), o.name) for o in offices]
    date_error = (
        t.gettext("Please enter a date as YYYY-MM-DD.")
        if raw_day and _parse_day(raw_day) is None else None
    )
    items = [
        {
            "time": f"{t.time(r.start, r.timezone)}–{t.time(r.end, r.timezone)}",
            "reference": r.reference,
            "service": r.service_name_en if t.lang == "en" and r.service_name_en
            else r.service_name,
            "status": t.gettext(STATUS_LABELS.get(r.status, r.status)),
            "status_kind": STATUS_KINDS.get(r.status, "neutral"),
            "citizen": r.citizen_name,
            "office": r.office_name,
        }
        for r in rows
    ]
    return render(request, "staff/agenda.html", {
        "day": day, "day_label": t.date(day), "items": items, "date_error": date_error,
        "office_options": office_options, "office_id": office_id,
        "show_office": len(chosen) > 1, "has_offices": bool(office_ids),
        "prev_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat(),
    })


routes: list[BaseRoute] = [
    Route("/staff/login", login_page, methods=["GET"]),
    Route("/staff/login", login_submit, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff", agenda, methods=["GET"]),
]
