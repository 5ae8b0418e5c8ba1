"""The clerk's desk in the browser: the panels beside the call (identity check, completion,
no-show), the agenda's live status stream and the printable day list.

The panels post url-encoded forms with the session's CSRF token to same-origin endpoints that
call the same domain services as the bearer API (``cases.identity`` via ``cases.completion``),
so the rules live in one place. Each endpoint answers in the form its caller asked for:

* ``X-Requested-With: desk`` (static/js/desk-panels.js): the re-rendered panel(s) as an HTML
  fragment (200, or 409/422 with the errors beside the fields), so the video call keeps running;
* ``Accept: application/json``: the API's JSON shapes, errors in the one error shape of
  ``app/errors.py`` (``{"error": {"code", "message", "details"}}``; so are the script's
  errors that are not about the form: an expired session, a refused token, another office);
* a plain form post (no JavaScript): 303 back to the call page, or the call page again with the
  errors (422/409).

``GET /staff/call/{reference}`` is served here first: it loads the panels' data into
``request.state.desk`` and lets the call page render as usual (app/pages/call.py), whose
template includes app/templates/call/_desk_panels.html.

``GET /staff/agenda/events`` is a server-sent event stream of the agenda's statuses: one
``agenda`` event at once and another whenever a status or the waiting room changes (checked
every ``POLL_SECONDS``), a comment now and then so idle proxies keep it open, and the end after
``STREAM_SECONDS`` (the browser reconnects by itself; nothing is held open for ever). Without a
valid session it answers 401, which makes ``EventSource`` stop instead of retrying.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import case_schemas as s
from app.api.clerk_cases import case_policy, render_case
from app.auth import require_page_user, require_script_user
from app.context import ctx
from app.errors import json_error
from app.pages import call as call_pages
from app.pages.desk_forms import (
    FormInvalid,
    completion_error,
    identity_error,
    read_completion,
    read_identity,
)
from app.pages.desk_views import DeskView, FormState, desk_view
from app.pages.forms import Form, read_form
from app.pages.staff import load_agenda, render_agenda
from app.pages.staff_http import Pacing, event_stream, redirect
from app.templating import render, request_language, translator
from booking.channels import work_page
from booking.models import Office
from cases import completion as cases
from core.errors import Conflict, DomainError
from core.types import utcnow
from online.inbox import complete_appointment
from staff.models import StaffUser
from staff.service import appointment_for_staff, staff_actor
from tenants.links import safe_next, site_path

POLL_SECONDS = 2.0
STREAM_SECONDS = 55.0
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000

# Errors about the request itself (not the form): the usual error page or JSON.
_NOT_THE_FORM = (401, 403, 404)


def _mode(request: Request) -> str:
    if request.headers.get("x-requested-with", "").lower() == "desk":
        return "fragment"
    if "application/json" in request.headers.get("accept", ""):
        return "json"
    return "page"


def _reference(request: Request) -> str:
    return str(request.path_params["reference"])[:20]


async def _user(request: Request) -> StaffUser:
    """The session's user; for script callers errors in JSON (a 401, not a login redirect)."""
    if _mode(request) == "page":
        return await require_page_user(request)
    return await require_script_user(request)


async def _load(request: Request, user: StaffUser, *, identity: FormState | None = None,
                completion: FormState | None = None) -> DeskView:
    state = ctx(request)
    async with state.db.transaction() as session:
        appointment = await appointment_for_staff(session, user, _reference(request))
        view = await desk_view(
            session, translator(request), appointment,
            online_payment=bool(state.settings.stripe_secret_key), now=utcnow(),
            identity=identity, completion=completion)
    request.state.desk = view
    return view


async def call_page(request: Request) -> Response:
    """The clerk's call page with the desk panels' data attached; for an appointment on site or
    by phone the desk page (``/staff/desk/{reference}``: the same panels, no video), where the
    call page's address leads too (so do the panels' posts without JavaScript)."""
    user = await require_page_user(request)
    view = await _load(request, user)
    page = work_page(view.reference, view.channel)
    if site_path(request.scope) != page:
        query = f"?{request.url.query}" if request.url.query else ""
        return redirect(page + query)
    return await call_pages.clerk_call(request)


async def _answer(
    request: Request, user: StaffUser, *, status: int, parts: tuple[str, ...],
    anchor: str, identity: FormState | None = None, completion: FormState | None = None,
    announce: str = "", focus: str = "",
) -> Response:
    """The panels after a post, in the form the caller asked for (not for JSON)."""
    if _mode(request) == "page":
        if status < 400:
            return redirect(f"/staff/call/{_reference(request)}#{anchor}")
        await _load(request, user, identity=identity, completion=completion)
        response = await call_pages.clerk_call(request)
        response.status_code = status
        return response
    view = await _load(request, user, identity=identity, completion=completion)
    view.parts, view.announce, view.focus = parts, announce, focus
    return render(request, "call/_desk_fragment.html", {"desk": view}, status)


_ANCHORS = {"identity": "identity-check", "completion": "desk-completion"}


async def _refused(request: Request, user: StaffUser, part: str, state: FormState,
                   status: int) -> Response:
    """The ``part`` panel again after a refused post, its errors beside its fields."""
    return await _answer(request, user, status=status, parts=(part,), anchor=_ANCHORS[part],
                         identity=state if part == "identity" else None,
                         completion=state if part == "completion" else None)


async def _unreadable(request: Request, user: StaffUser, part: str,
                      invalid: FormInvalid) -> Response:
    """A form that could not be read (422): each field's message, as JSON or in the panel."""
    if _mode(request) != "json":
        return await _refused(request, user, part, invalid.state, 422)
    errors = {key: message for key, message in invalid.state.errors.items() if key}
    first = next(iter(errors.values()), "")
    return json_error(422, "validation_error", first,
                      [{"field": key, "message": message} for key, message in errors.items()])


async def _form(request: Request) -> tuple[StaffUser, Form]:
    user = await _user(request)
    return user, await read_form(request)


# --- identity check ------------------------------------------------------------------------------


async def verification(request: Request) -> Response:
    user, form = await _form(request)
    t = translator(request)
    try:
        data = read_identity(t, form)
    except FormInvalid as invalid:
        return await _unreadable(request, user, "identity", invalid)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            appointment = await appointment_for_staff(session, user, _reference(request))
            check = await cases.record_verification(session, appointment, data,
                                                    staff_actor(user))
            office = await session.get(Office, appointment.office_id)
            out: dict[str, Any] = {
                "reference": appointment.reference,
                "identity_verified": check.outcome == "verified",
                "verification": s.verification_out(
                    check, office.timezone if office else "UTC"),
            }
    except DomainError as exc:
        if exc.status in _NOT_THE_FORM or _mode(request) == "json":
            raise
        return await _refused(request, user, "identity", identity_error(t, form, exc),
                              exc.status)
    if _mode(request) == "json":
        return JSONResponse(out)
    announce = (t.gettext("The identity check has been recorded: identity verified.")
                if out["identity_verified"]
                else t.gettext("The identity check has been recorded: identity not verified."))
    return await _answer(request, user, status=200, parts=("identity", "completion"),
                         anchor="identity-check", announce=announce, focus="desk-check-result")


# --- completion ----------------------------------------------------------------------------------


async def complete(request: Request) -> Response:
    user, form = await _form(request)
    t = translator(request)
    state = ctx(request)
    try:
        data, rows = read_completion(t, form)
    except FormInvalid as invalid:
        return await _unreadable(request, user, "completion", invalid)
    try:
        async with state.db.transaction(write=True) as session:
            appointment = await appointment_for_staff(session, user, _reference(request))
            case = await complete_appointment(
                session, appointment, data, staff_actor(user), case_policy(state.settings),
                address=form.get("postal_address", "").splitlines())
            office = await session.get(Office, appointment.office_id)
            out: dict[str, Any] = {
                "reference": appointment.reference, "status": appointment.status,
                "case": await render_case(session, case, office.timezone if office
                                          else "UTC", request_language(request))}
    except IntegrityError as exc:  # a concurrent completion won (the unique keys hold)
        problem: DomainError = Conflict()
        problem.__cause__ = exc
        return await _complete_failed(request, user, form, problem, rows)
    except DomainError as exc:
        if exc.status in _NOT_THE_FORM:
            raise
        return await _complete_failed(request, user, form, exc, rows)
    if _mode(request) == "json":
        return JSONResponse(out)
    announce = t.gettext("The request is completed. Case number: %(number)s",
                         number=out["case"]["case_number"])
    return await _answer(request, user, status=200, parts=("identity", "completion"),
                         anchor="desk-completion", announce=announce, focus="desk-case")


async def _complete_failed(request: Request, user: StaffUser, form: Form, exc: DomainError,
                           rows: list[int]) -> Response:
    if _mode(request) == "json":
        raise exc
    state = completion_error(translator(request), form, exc, rows)
    return await _refused(request, user, "completion", state, exc.status)


# --- no-show -------------------------------------------------------------------------------------


async def no_show(request: Request) -> Response:
    """From the agenda (back to it, ``next``) or from the call page's panel."""
    user, form = await _form(request)
    t = translator(request)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            appointment = await appointment_for_staff(session, user, _reference(request))
            await cases.mark_no_show(session, appointment, staff_actor(user))
            out = {"reference": appointment.reference, "status": appointment.status,
                   "case": None}
    except DomainError as exc:
        if exc.status in _NOT_THE_FORM or _mode(request) != "fragment":
            raise
        failed = FormState(errors={"": t.gettext(exc.msgid, **exc.params)})
        return await _refused(request, user, "completion", failed, exc.status)
    mode = _mode(request)
    if mode == "json":
        return JSONResponse(out)
    if mode == "page" and form.get("next"):
        target = safe_next(form.get("next"))
        return redirect(f"{target}{'&' if '?' in target else '?'}done=no_show")
    return await _answer(request, user, status=200, parts=("identity", "completion"),
                         anchor="desk-completion", focus="desk-outcome",
                         announce=t.gettext("The appointment has been marked as missed."))


async def back_to_call(request: Request) -> Response:
    """A GET of a post's address (the language link of a page rendered by a post)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return redirect(f"/staff/call/{_reference(request)}{query}")


# --- the agenda's live status and day list -------------------------------------------------------


async def agenda_events(request: Request) -> Response:
    # Without a session 401 (in the one JSON shape): EventSource then stops instead of retrying.
    user = await require_script_user(request)

    async def read(user: StaffUser) -> tuple[str, Callable[[], str]]:
        data = await load_agenda(request, user)
        snapshot = json.dumps([e.live() for e in data.entries], ensure_ascii=False)
        return snapshot, lambda: snapshot

    pacing = Pacing(POLL_SECONDS, STREAM_SECONDS, HEARTBEAT_SECONDS, RETRY_MS)
    return event_stream(request, user, "agenda", read, pacing)


async def agenda_print(request: Request) -> Response:
    return await render_agenda(request, "staff/agenda_print.html")


routes: list[BaseRoute] = [
    Route("/staff/agenda/events", agenda_events, methods=["GET"]),
    Route("/staff/agenda/print", agenda_print, methods=["GET"]),
    Route("/staff/call/{reference}", call_page, methods=["GET"]),
    Route("/staff/desk/{reference}", call_page, methods=["GET"]),
    Route("/staff/call/{reference}/verification", verification, methods=["POST"]),
    Route("/staff/call/{reference}/complete", complete, methods=["POST"]),
    Route("/staff/call/{reference}/no-show", no_show, methods=["POST"]),
    Route("/staff/call/{reference}/verification", back_to_call, methods=["GET"]),
    Route("/staff/call/{reference}/complete", back_to_call, methods=["GET"]),
    Route("/staff/call/{reference}/no-show", back_to_call, methods=["GET"]),
]
