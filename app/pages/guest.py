"""The guest's side of a call (``calls.guests``): the guest page ``/g/{token}`` and its token
endpoint, and the clerk page's script endpoints that issue and revoke the guest link.

``GET /g/{token}`` only shows (a mail scanner following the link binds nothing). The page's
script posts to ``/g/{token}/token`` (CSRF like every form) right before each connect: the first
post binds the link to this browser (a cookie with a secret, path ``/g/{token}``), later posts
from it get a fresh ``hello`` token; another browser gets 409 with a clear message.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import cookie_secure, town_base_url
from app.auth import require_script_user
from app.context import ctx
from app.errors import answer_in_json
from app.pages.call import SHARED_TEXTS, texts
from app.pages.citizen_http import limit
from app.pages.citizen_views import local_day, time_range
from app.pages.forms import read_form
from app.templating import render, translator
from booking import service as booking
from booking.catalog import service_name
from calls.guests import (
    GuestLinkGone,
    GuestLinkUnknown,
    bind_device,
    current_guest_link,
    hello_token,
    issue_guest_link,
    open_guest_link,
    revoke_guest_links,
)
from calls.service import join_window
from core.i18n import Translator
from core.messages import N_
from core.types import utcnow
from staff.service import appointment_for_staff
from tenants.links import site_url

COOKIE = "buero_guest"

KIND_LABELS = {
    "interpreter": N_("Interpreter"),
    "sign_language": N_("Sign-language interpreter"),
}

# The page script's texts, besides the shared ones of the call pages.
GUEST_TEXTS: dict[str, str] = {
    "state-waiting": N_("In the waiting room"),
    "state-in-call": N_("In the call"),
    "ended": N_("The member of staff has ended the call. Thank you!"),
    "left": N_("You have left the call. You can join again as long as the video room is open."),
    "replaced": N_("You have opened this link in another window. This window is no longer "
                   "connected."),
    "refused-4401": N_("This guest link is no longer valid."),
    "refused-4403": N_("The video room is not open (not yet, or no more)."),
    "refused": N_("The connection was refused. Please reload the page."),
    "join-again": N_("Join again"),
}


def kind_label(t: Translator, kind: str) -> str:
    return t.gettext(KIND_LABELS.get(kind, KIND_LABELS["interpreter"]))


# --- the guest ---------------------------------------------------------------------------------


async def guest_page(request: Request) -> Response:
    await limit(request, "token")
    state = ctx(request)
    settings = state.settings
    now = utcnow()
    t = translator(request)
    try:
        async with state.db.transaction() as session:
            link, appointment = await open_guest_link(
                session, state.secret_key, request.path_params["token"], now)
            appointment, office, service = await booking.appointment_details(session, appointment)
    except (GuestLinkUnknown, GuestLinkGone) as error:
        return render(request, "call/guest_invalid.html",
                      {"message": t.gettext(error.msgid)}, error.status)
    window = join_window(appointment, settings.join_before_minutes, settings.join_after_minutes)
    day = local_day(appointment.start_at, office)
    return render(request, "call/guest.html", {
        "phase": "early" if now < window.opens_at else "open",
        "kind": kind_label(t, link.kind),
        "guest_name": link.name,
        "office": office.name,
        "service": service_name(service, t.lang),
        "when": t.gettext("%(date)s, %(time)s", date=t.date(day, "full"),
                          time=time_range(t, appointment.start_at, appointment.end_at,
                                          office.timezone)),
        "opens": t.time(window.opens_at, office.timezone),
        "opens_iso": window.opens_at.isoformat(),
        "messages": texts(t, SHARED_TEXTS, GUEST_TEXTS),
    })


async def guest_token(request: Request) -> Response:
    """A ``hello`` token for this browser, binding the link to it on first use."""
    answer_in_json(request)
    await limit(request, "token")
    await read_form(request)
    state = ctx(request)
    token = request.path_params["token"]
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        link, _ = await open_guest_link(session, state.secret_key, token, now)
        secret = await bind_device(session, state.secret_key, link, request.cookies.get(COOKIE),
                                   now)
        lifetime = link.expires_at - now
    response = JSONResponse({"token": hello_token(token, secret)},
                            headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, secret, path=site_url(request.scope, f"/g/{token}"),
                        httponly=True, samesite="strict", secure=cookie_secure(request),
                        max_age=int(max(lifetime, timedelta(0)).total_seconds()) + 60)
    return response


# --- the clerk's page --------------------------------------------------------------------------


async def clerk_guest_link(request: Request) -> Response:
    """Issue the call's guest link (revoking an earlier one): JSON for the page's script."""
    user = await require_script_user(request)
    form = await read_form(request)
    state = ctx(request)
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        window = join_window(appointment, state.settings.join_before_minutes,
                             state.settings.join_after_minutes)
        issued = await issue_guest_link(
            session, state.secret_key, appointment, user, kind=form.get("kind", ""),
            name=form.get("name", ""), window=window, now=now)
    path = f"/g/{issued.token}"
    return JSONResponse({
        "url": await town_base_url(state) + path, "path": path,
        "kind": issued.link.kind, "name": issued.link.name,
        "label": kind_label(translator(request), issued.link.kind),
        "expires_at": issued.link.expires_at.isoformat(),
    }, status_code=201, headers={"Cache-Control": "no-store"})


async def clerk_guest_status(request: Request) -> Response:
    """The call's guest link in force, if any (after a reload the token itself is gone: only
    who it is for, whether a browser has taken it, and that it can be withdrawn)."""
    user = await require_script_user(request)
    async with ctx(request).db.transaction() as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        assert appointment.id is not None
        link = await current_guest_link(session, appointment.id, utcnow())
    if link is None:
        return JSONResponse({"active": False}, headers={"Cache-Control": "no-store"})
    return JSONResponse({
        "active": True, "kind": link.kind, "name": link.name,
        "label": kind_label(translator(request), link.kind), "bound": link.device_hash is not None,
        "expires_at": link.expires_at.isoformat(),
    }, headers={"Cache-Control": "no-store"})


async def clerk_guest_revoke(request: Request) -> Response:
    user = await require_script_user(request)
    await read_form(request)
    state = ctx(request)
    async with state.db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        revoked = await revoke_guest_links(session, appointment, user, utcnow())
    return JSONResponse({"revoked": revoked}, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/g/{token}", guest_page, methods=["GET"]),
    Route("/g/{token}/token", guest_token, methods=["POST"]),
    Route("/staff/call/{reference}/guest-link", clerk_guest_link, methods=["POST"]),
    Route("/staff/call/{reference}/guest-link", clerk_guest_status, methods=["GET"]),
    Route("/staff/call/{reference}/guest-link/revoke", clerk_guest_revoke, methods=["POST"]),
]
