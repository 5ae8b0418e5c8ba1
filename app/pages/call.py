"""The call pages: the citizen's ``/t/{token}/call`` and the clerk's ``/staff/call/{reference}``.

The pages only render; the call itself runs in the browser (static/js/call.js) over the
WebSocket ``/ws/call``. No token ever goes into the WebSocket's URL: the citizen's page reads
its link token from its own path and sends it in ``hello``; the clerk's page fetches a
short-lived call token from ``POST /staff/call/{reference}/token`` (same origin, session cookie
and CSRF token) right before each connect, and reports the media connection it got (or an attempt
that failed) to ``POST /staff/call/{reference}/media`` for the office's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user, require_script_user
from app.context import ctx
from app.pages.call_tools import CHAT_TEXTS, CITIZEN_TOOL_TEXTS, CLERK_TOOL_TEXTS
from app.pages.citizen_http import limit, prefer_language
from app.pages.citizen_views import appointment_view, local_day, time_range
from app.pages.forms import read_form
from app.pages.staff import STATUS_LABELS
from app.templating import render, translator
from booking import service as booking
from booking.catalog import service_name
from booking.channels import CHANNEL_LABELS, is_call
from booking.models import Appointment, AppointmentStatus, Office
from booking.service import hold_lapsed
from calls.record import report_media
from calls.service import (
    call_events,
    issue_call_token,
    join_window,
)
from core.errors import Invalid, Unauthorized
from core.i18n import Translator
from core.messages import N_
from core.types import utcnow
from staff.service import appointment_for_staff

# --- what the citizen's page shows --------------------------------------------------------------


def citizen_phase(appointment: Appointment, now: datetime, *, before_minutes: int,
                  after_minutes: int, call_ended: bool = False) -> str:
    """``open`` inside the join window of a confirmed (or running) appointment; otherwise why
    not: ``early``, ``over``, ``ended`` (also once the clerk ended the call), ``unconfirmed``
    or ``unavailable``."""
    status = appointment.status
    if status == AppointmentStatus.reserved and not hold_lapsed(appointment, now):
        return "unconfirmed"
    if status in (AppointmentStatus.completed, AppointmentStatus.no_show) or call_ended:
        return "ended"
    if status not in (AppointmentStatus.confirmed, AppointmentStatus.in_call):
        return "unavailable"
    window = join_window(appointment, before_minutes, after_minutes)
    if now < window.opens_at:
        return "early"
    if now >= window.closes_at:
        return "over"
    return "open"


# Texts the scripts show (the JSON block in the page); message ids are English like elsewhere.
SHARED_TEXTS: dict[str, str] = {
    "denied": N_("You have not allowed access to your camera and microphone. Please allow it in "
                 "your browser's settings (usually via the lock or camera symbol next to the "
                 "address) and then reload this page."),
    "camera-not-found": N_("We cannot find a camera. Please connect one, or use a smartphone or "
                           "tablet. You can still talk with us without a picture."),
    "microphone-not-found": N_("We cannot find a microphone. Please connect one, or use a "
                               "smartphone or tablet."),
    "both-not-found": N_("We cannot find a camera or a microphone. Please connect them, or use "
                         "a smartphone or tablet."),
    "camera-in-use": N_("Your camera is being used by another program (for example another "
                        "video call). Please close that program and try again."),
    "microphone-in-use": N_("Your microphone is being used by another program. Please close "
                            "that program and try again."),
    "camera-other": N_("Your camera could not be started. Please try again."),
    "microphone-other": N_("Your microphone could not be started. Please try again."),
    "insecure": N_("Camera and microphone only work over a secure connection (https)."),
    "unsupported": N_("Your browser does not support video calls. Please use a current version "
                      "of Firefox, Chrome, Edge or Safari."),
    "other": N_("Camera and microphone could not be started. Please reload the page or try "
                "another browser."),
    "camera_n": N_("Camera %(n)s"),
    "microphone_n": N_("Microphone %(n)s"),
    "state-idle": N_("Not connected yet"),
    "state-connecting": N_("Connecting …"),
    "state-ready": N_("Connected to the server"),
    "state-joining": N_("Setting up the video connection …"),
    "state-connected": N_("Connected"),
    "state-reconnecting": N_("Connection interrupted – reconnecting …"),
    "state-left": N_("Not connected"),
    "state-refused": N_("Not connected"),
    "state-replaced": N_("Not connected"),
    "state-ended": N_("The call has ended"),
    "notice-interrupted": N_("The connection to the office's server is interrupted. Your call "
                             "goes on; please stay on this page."),
    "notice-window-closing": N_("The video room closes at %(time)s."),
}

CITIZEN_TEXTS: dict[str, str] = {
    "state-waiting": N_("In the waiting room"),
    "state-peer-left": N_("The member of staff has been disconnected. Please wait, the call "
                          "continues as soon as they are back."),
    "ended": N_("The member of staff has ended the call. Thank you for using the citizen "
                "office by video!"),
    "left": N_("You have left the call. You can join again as long as the video room is open."),
    "replaced": N_("You have opened this appointment in another window or on another device. "
                   "This window is no longer connected."),
    "refused-4401": N_("This link is no longer valid."),
    "refused-4403": N_("The video room is closed. Please reload the page to see the current "
                       "state of your appointment."),
    "refused": N_("The connection was refused. Please reload the page."),
    "join-again": N_("Join again"),
    "join": N_("Join the video call"),
}

CLERK_TEXTS: dict[str, str] = {
    "state-peer-waiting": N_("The citizen is waiting"),
    "state-ready": N_("Ready – waiting for the citizen"),
    "state-peer-left": N_("The citizen has been disconnected. If they come back, the call "
                          "continues."),
    "waiting-yes": N_("The citizen is in the waiting room."),
    "waiting-no": N_("Nobody is in the waiting room yet."),
    "waiting-in-call": N_("In the call."),
    "admitted": N_("Let in"),
    "admit": N_("Let in"),
    "ended": N_("You have ended the call."),
    "replaced": N_("You have opened this call in another window. This window is no longer "
                   "connected."),
    "refused-4401": N_("Your access to this call has expired. Please reload the page."),
    "refused-4403": N_("The video room for this appointment is not open (not yet, or no "
                       "more)."),
    "early": N_("The video room opens %(time)s. This page connects by itself then."),
    "refused": N_("The connection was refused. Please reload the page."),
    "quality-good": N_("Good"),
    "quality-fair": N_("Fair"),
    "quality-poor": N_("Poor"),
    "quality-details": N_("Round trip %(rtt)s ms · packet loss %(loss)s % · %(rate)s kbit/s"),
    "path-direct": N_("direct connection"),
    "path-relay": N_("through the relay server"),
    "quality-none": N_("Not measured yet"),
}


def texts(t: Translator, *groups: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in groups:
        out.update({key: t.gettext(msgid) for key, msgid in group.items()})
    return out


# --- the citizen's page ---------------------------------------------------------------------------


async def citizen_call(request: Request) -> Response:
    await limit(request, "token")
    state = ctx(request)
    settings = state.settings
    now = utcnow()
    try:
        async with state.db.transaction() as session:
            appointment = await booking.find_by_token(
                session, state.links, request.path_params["token"], now)
            prefer_language(request, appointment.locale)
            appointment, office, service = await booking.appointment_details(session, appointment)
            assert appointment.id is not None
            # The clerk's "end" closes the room to the citizen for good.
            call_ended = any(e.event == "ended" for e in await call_events(session,
                                                                              appointment.id))
    except Unauthorized:
        return render(request, "citizen/link_invalid.html", {}, 404)
    t = translator(request)
    view = appointment_view(t, appointment, office, service,
                            join_before_minutes=settings.join_before_minutes,
                            join_after_minutes=settings.join_after_minutes, now=now)
    base = f"/t/{request.path_params['token']}"
    if not is_call(appointment):  # on site or by phone: no call, never a video room
        return render(request, "citizen/no_call.html", {"appointment": view, "base": base}, 409)
    window = join_window(appointment, settings.join_before_minutes, settings.join_after_minutes)
    phase = citizen_phase(appointment, now, before_minutes=settings.join_before_minutes,
                          after_minutes=settings.join_after_minutes, call_ended=call_ended)
    return render(request, "call/citizen.html", {
        "appointment": view, "phase": phase, "base": base,
        "opens_iso": window.opens_at.isoformat(), "closes_iso": window.closes_at.isoformat(),
        "join_before_minutes": settings.join_before_minutes,
        "messages": texts(t, SHARED_TEXTS, CITIZEN_TEXTS, CHAT_TEXTS, CITIZEN_TOOL_TEXTS),
        "office_phone": office.phone,
    })


# --- the clerk's page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingData:
    reference: str
    when: str
    day_iso: str
    service: str
    citizen: str
    date_of_birth: str
    email: str
    phone: str
    office: str
    status: str
    opens_iso: str
    opens: str
    channel: str = "video"
    channel_label: str = ""


async def _booking(request: Request, reference: str) -> BookingData:
    user = await require_page_user(request)
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        appointment = await appointment_for_staff(session, user, reference)
        appointment, office, service = await booking.appointment_details(session, appointment)
    settings = ctx(request).settings
    window = join_window(appointment, settings.join_before_minutes, settings.join_after_minutes)
    tz = office.timezone
    day = local_day(appointment.start_at, office)
    return BookingData(
        reference=appointment.reference,
        when=t.gettext("%(date)s, %(time)s", date=t.date(day, "full"),
                       time=time_range(t, appointment.start_at, appointment.end_at, tz)),
        day_iso=day.isoformat(),
        service=service_name(service, t.lang),
        citizen=f"{appointment.given_name} {appointment.family_name}",
        date_of_birth=t.date(appointment.date_of_birth, "long") if appointment.date_of_birth
        else "",
        email=appointment.email,
        phone=appointment.phone,
        office=office.name,
        status=t.gettext(STATUS_LABELS.get(appointment.status, appointment.status)),
        opens_iso=window.opens_at.isoformat(),
        opens=_when_it_opens(t, window.opens_at, office),
        channel=appointment.channel,
        channel_label=t.gettext(CHANNEL_LABELS.get(appointment.channel, appointment.channel)),
    )


def _when_it_opens(t: Translator, opens: datetime, office: Office) -> str:
    """"at 08:15" on the day itself, "on Monday, 7 December 2026 at 08:15" before it: a clerk
    who opens the page days ahead must not read a bare time."""
    time = t.time(opens, office.timezone)
    if local_day(opens, office) == local_day(utcnow(), office):
        return t.gettext("at %(time)s", time=time)
    return t.gettext("on %(date)s at %(time)s", date=t.date(local_day(opens, office), "full"),
                     time=time)


async def clerk_call(request: Request) -> Response:
    data = await _booking(request, request.path_params["reference"])
    t = translator(request)
    if data.channel != "video":  # on site or by phone: the desk without video
        return render(request, "staff/desk.html", {"booking": data})
    return render(request, "call/clerk.html", {
        "booking": data,
        "messages": texts(t, SHARED_TEXTS, CLERK_TEXTS, CHAT_TEXTS, CLERK_TOOL_TEXTS),
    })


async def clerk_call_token(request: Request) -> Response:
    """A call token for the page's own WebSocket, as JSON (the page's script asks for it).

    Errors are in the one JSON error shape too (the script reads them): 401 when the page
    session is gone, 403 for a bad CSRF token or another office, 404 for an unknown reference,
    409 when the appointment cannot be called (any more).
    """
    user = await require_script_user(request)
    await read_form(request)
    state = ctx(request)
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        window = join_window(appointment, state.settings.join_before_minutes,
                             state.settings.join_after_minutes)
        issued = await issue_call_token(
            session, state.secret_key, appointment, user, window=window,
            login=request.state.staff_session_id,
            max_lifetime=timedelta(minutes=state.settings.call_token_minutes), now=now)
    return JSONResponse({"token": issued.token, "expires_at": issued.expires_at.isoformat()},
                        headers={"Cache-Control": "no-store"})


async def clerk_call_media(request: Request) -> Response:
    """The clerk's page reports the media connection (``calls.record``): ``outcome=connected``
    with ``route`` (``direct`` | ``relay``) and ``setup_ms``, or ``outcome=failed`` for an
    attempt that did not connect. 204; errors as for the token, 422 for a bad field."""
    user = await require_script_user(request)
    form = await read_form(request)
    outcome = form.get("outcome", "")
    route = form.get("route", "") or None
    setup = form.get("setup_ms", "")
    if outcome not in ("connected", "failed") or route not in (None, "direct", "relay") or (
            setup and not (setup.isdigit() and len(setup) <= 9)):
        raise Invalid()
    async with ctx(request).db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        assert appointment.id is not None
        await report_media(session, appointment.id, connected=outcome == "connected",
                           route="relay" if route == "relay" else "direct",
                           setup_ms=int(setup) if setup else None)
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/t/{token}/call", citizen_call, methods=["GET"]),
    # GET /staff/call/{reference} is app/pages/desk.py's: it adds the desk panels' data (or
    # leads to the desk page) and then renders ``clerk_call``.
    Route("/staff/call/{reference}/token", clerk_call_token, methods=["POST"]),
    Route("/staff/call/{reference}/media", clerk_call_media, methods=["POST"]),
]
