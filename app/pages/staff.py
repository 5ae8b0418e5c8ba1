"""Staff pages: login, logout, and today's agenda (``/staff``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.login import PasswordLoginDisabled, login
from app.api.sso import enabled as sso_enabled
from app.auth import (
    SESSION_COOKIE,
    STAGE_PAGES,
    clear_session_cookie,
    page_logout,
    require_page_user,
    set_session_cookie,
)
from app.calls import hub_of
from app.context import ctx
from app.pages.forms import read_form
from app.pages.staff_http import error_message, redirect
from app.templating import render, translator
from booking.agenda import AgendaItem, day_agenda
from booking.catalog import service_name
from booking.channels import CHANNEL_LABELS, work_page
from booking.models import Office
from core.errors import RateLimited
from core.i18n import Translator
from core.types import parse_day, utcnow
from signaling.waitroom import waiting_since
from staff.models import StaffUser
from staff.service import visible_office_ids
from staff.sessions import InvalidCredentials, LoginLocked, find_session_user
from tenants.links import safe_next, site_path

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
    """The login form; like every form, its CSRF token is bound to the browser's cookie."""
    next_url = safe_next(next_url or request.query_params.get("next"))
    settings = ctx(request).settings
    return render(request, "staff/login.html", {
        "email": email, "errors": errors or {}, "alert": alert, "notice": notice,
        "next_url": next_url, "switch_url": "/staff/login",
        "sso": sso_enabled(ctx(request)), "password_login": settings.staff_password_login,
    }, status)


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
    except (LoginLocked, RateLimited, PasswordLoginDisabled) as exc:
        return _login_page(request, email=email, alert=error_message(t, exc),
                           status=exc.status, next_url=next_url)
    await page_logout(request)  # a login replaces any earlier session of this browser
    # A login that owes its second factor goes on to that step, then to ``next``.
    response = redirect(next_url if new.stage == "full"
                        else f"{STAGE_PAGES[new.stage]}?{urlencode({'next': next_url})}")
    set_session_cookie(request, response, new)
    return response


async def logout(request: Request) -> Response:
    await require_page_user(request, stages=tuple(STAGE_PAGES))  # also a half-done login
    await read_form(request)
    await page_logout(request)
    response = redirect("/staff/login?logged_out=1")
    clear_session_cookie(request, response)
    return response


# --- agenda ------------------------------------------------------------------------------------

# Appointments a clerk can still open the call of from the agenda.
JOINABLE = frozenset({"confirmed", "in_call"})


def _parse_day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError:
        return None


def _parse_office(value: str | None, allowed: list[int]) -> int | None:
    if value and value.isdigit() and int(value) in allowed:
        return int(value)
    return None


def _squeeze(text: str) -> str:
    """Lower case without spaces and dashes: "bb 12-34" finds "BB-1234"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def matches(item: AgendaItem, query: str) -> bool:
    """The search: part of the reference, or of the citizen's name (either order)."""
    needle = _squeeze(query)
    if needle and needle in _squeeze(item.appointment.reference):
        return True
    name = item.citizen_name.casefold()
    return all(word in name for word in query.casefold().split())


@dataclass(frozen=True)
class AgendaEntry:
    reference: str
    time: str
    service: str
    citizen: str
    phone: str
    office: str
    status: str
    label: str
    kind: str
    waiting: bool
    can_join: bool
    can_no_show: bool
    waited: str = ""  # "waiting for 4 min." while the citizen waits
    # How the citizen and the clerk meet, and the page the clerk works the appointment on:
    # the call page for video, the desk page (no video) on site and by phone.
    channel: str = "video"
    channel_label: str = ""
    href: str = ""
    persons: int = 1  # the one who booked and the further people

    def live(self) -> dict[str, Any]:
        """What the live stream sends of a row (static/js/agenda-live.js applies it)."""
        return {"reference": self.reference, "status": self.status, "label": self.label,
                "kind": self.kind, "waiting": self.waiting, "can_join": self.can_join,
                "can_no_show": self.can_no_show, "waited": self.waited}


@dataclass(frozen=True)
class AgendaData:
    day: dt.date
    date_error: str | None
    office_id: int | None
    office_options: list[tuple[str, str]]
    show_office: bool
    has_offices: bool
    query: str
    entries: list[AgendaEntry]
    office_names: list[str]  # the offices shown (the printed list names them)

    def params(self, **extra: str) -> str:
        """The agenda's own query string (day, office, search), for its links and streams."""
        pairs = {"date": self.day.isoformat()}
        if self.office_id is not None:
            pairs["office_id"] = str(self.office_id)
        if self.query:
            pairs["q"] = self.query
        return urlencode({**pairs, **extra})


def waited_label(t: Translator, since: dt.datetime | None, now: dt.datetime) -> str:
    """How long the citizen has waited, in whole minutes."""
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes == 0:
        return t.gettext("waiting for less than a minute")
    return t.gettext("waiting for %(num)s min.", num=minutes)


def _entry(t: Translator, item: AgendaItem, waiting: bool, now: dt.datetime,
           since: dt.datetime | None = None) -> AgendaEntry:
    a, tz = item.appointment, item.office.timezone
    waiting = waiting and a.status in JOINABLE and a.channel == "video"
    return AgendaEntry(
        reference=a.reference,
        time=f"{t.time(a.start_at, tz)}–{t.time(a.end_at, tz)}",
        service=", ".join(service_name(s, t.lang) for s in item.all_services),
        citizen=item.citizen_name, phone=a.phone, office=item.office.name, status=a.status,
        label=t.gettext(STATUS_LABELS.get(a.status, a.status)),
        kind=STATUS_KINDS.get(a.status, "neutral"),
        waiting=waiting,
        can_join=a.status in JOINABLE,
        can_no_show=a.status == "confirmed" and a.start_at <= now,
        # No time yet: the join that notes it is under way, so the citizen has just come.
        waited=waited_label(t, since or now, now) if waiting else "",
        channel=a.channel,
        channel_label=t.gettext(CHANNEL_LABELS.get(a.channel, a.channel)),
        href=work_page(a.reference, a.channel),
        persons=item.persons,
    )


async def load_agenda(request: Request, user: StaffUser) -> AgendaData:
    """The day (``?date=``, default today), office (``?office_id=``) and search (``?q=``) the
    request asks for, with each appointment's live status (waiting from the call hub)."""
    t = translator(request)
    state = ctx(request)
    now = utcnow()
    async with state.db.transaction() as session:
        office_ids = await visible_office_ids(session, user)
        offices = [o for o in [await session.get(Office, i) for i in office_ids] if o]
        office_id = _parse_office(request.query_params.get("office_id"), office_ids)
        chosen = [office_id] if office_id is not None else office_ids
        zone = ZoneInfo(offices[0].timezone if offices else "Europe/Berlin")
        raw_day = request.query_params.get("date")
        day = _parse_day(raw_day) or now.astimezone(zone).date()
        items = await day_agenda(session, chosen, day, now)
    query = " ".join(request.query_params.get("q", "").split())[:100]
    if query:
        items = [i for i in items if matches(i, query)]
    references = [i.appointment.reference for i in items]
    hub = hub_of(state)
    waiting = await hub.waiting_rooms(references) if items else set()
    since = await waiting_since(hub, sorted(waiting))
    entries = [_entry(t, i, i.appointment.reference in waiting, now,
                      since.get(i.appointment.reference)) for i in items]
    return AgendaData(
        day=day,
        date_error=t.gettext("Please enter a date as YYYY-MM-DD.")
        if raw_day and _parse_day(raw_day) is None else None,
        office_id=office_id, office_options=[(str(o.id), o.name) for o in offices],
        show_office=len(chosen) > 1, has_offices=bool(office_ids), query=query,
        entries=entries, office_names=[o.name for o in offices if o.id in chosen],
    )


def agenda_context(request: Request, data: AgendaData) -> dict[str, Any]:
    here = site_path(request.scope) + (f"?{request.url.query}" if request.url.query else "")
    return {
        "data": data, "day": data.day, "day_label": translator(request).date(data.day),
        "items": data.entries, "date_error": data.date_error,
        "office_options": data.office_options, "office_id": data.office_id,
        "show_office": data.show_office, "has_offices": data.has_offices, "query": data.query,
        "prev_day": data.params(date=(data.day - dt.timedelta(days=1)).isoformat()),
        "next_day": data.params(date=(data.day + dt.timedelta(days=1)).isoformat()),
        "events_url": "/staff/agenda/events?" + data.params(lang=translator(request).lang),
        "print_url": "/staff/agenda/print?" + data.params(),
        "here": safe_next(here),
        "notice": translator(request).gettext(AGENDA_NOTICES[request.query_params["done"]])
        if request.query_params.get("done") in AGENDA_NOTICES else None,
    }


AGENDA_NOTICES = {"no_show": "The appointment has been marked as missed.",
                  "waiting_message": "Your message has been sent to those waiting."}


async def render_agenda(request: Request, template: str) -> Response:
    """The agenda the request asks for, as the page or as the printable day list."""
    user = await require_page_user(request)
    data = await load_agenda(request, user)
    return render(request, template, agenda_context(request, data))


async def agenda(request: Request) -> Response:
    return await render_agenda(request, "staff/agenda.html")


routes: list[BaseRoute] = [
    Route("/staff/login", login_page, methods=["GET"]),
    Route("/staff/login", login_submit, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff", agenda, methods=["GET"]),
]
