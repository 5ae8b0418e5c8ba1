"""The citizen's appointment page behind the e-mailed link, ``/t/{token}``. The link of an online
request looks the same: the page and its confirmation are then ``request_link``'s.

Mail scanners and link previews follow links, so every GET here only reads (in a read-only
transaction); confirming, cancelling and moving are POSTs from the page with a CSRF token.
An unknown or expired token gets the same friendly "link not valid" page, with no detail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.citizen import calendar_response
from app.api.links import policy_from
from app.context import ctx
from app.pages import party_form as party
from app.pages import request_link
from app.pages import waitlist as waitlist_pages
from app.pages.case_views import CaseView, citizen_case_view
from app.pages.citizen_forms import Choice, parse_slot
from app.pages.citizen_http import limit, prefer_language
from app.pages.citizen_views import (
    AppointmentView,
    appointment_view,
    day_list,
    local_day,
    slot_groups,
    zone_note,
)
from app.pages.forms import read_form
from app.pages.postcall_pages import StatusView, citizen_status_view
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking import service as booking
from booking.availability import office_today
from booking.composition import party_of
from booking.models import Appointment, Office, Service
from core.audit import Actor
from core.errors import Conflict, DomainError, NotASlot, SlotTaken, Unauthorized

DONE_NOTICES = ("confirmed", "cancelled", "rescheduled")


class LinkInvalid(Exception):
    """The token does not open an appointment (unknown, expired, malformed)."""


async def _open(request: Request, session: AsyncSession) -> tuple[Appointment, Office, Service]:
    token = request.path_params["token"]
    try:
        appointment = await booking.find_by_token(session, ctx(request).links, token)
    except Unauthorized as exc:
        raise LinkInvalid() from exc
    prefer_language(request, appointment.locale)
    return await booking.appointment_details(session, appointment)


async def _open_view(request: Request, session: AsyncSession) -> AppointmentView:
    """The appointment as shown to the citizen, in the booking's language unless one was chosen."""
    appointment, office, service = await _open(request, session)
    return await party.with_party(session, translator(request), appointment,
                                  _view(request, appointment, office, service))


def _invalid(request: Request) -> Response:
    return render(request, "citizen/link_invalid.html", {}, 404)


def _view(request: Request, appointment: Appointment, office: Office,
          service: Service) -> AppointmentView:
    settings = ctx(request).settings
    return appointment_view(
        translator(request), appointment, office, service,
        join_before_minutes=settings.join_before_minutes,
        join_after_minutes=settings.join_after_minutes,
    )


def _base(request: Request) -> str:
    return f"/t/{request.path_params['token']}"


def _show(request: Request, view: AppointmentView, *, error: str = "",
          status: int = 200, case: CaseView | None = None,
          status_view: StatusView | None = None) -> Response:
    done = request.query_params.get("done", "")
    return render(request, "citizen/appointment.html", {
        "appointment": view,
        "case": case,
        "status": status_view,
        "base": _base(request),
        "done": done if done in DONE_NOTICES and not error else "",
        "error": error,
        "switch_url": _base(request),
        "join_before_minutes": ctx(request).settings.join_before_minutes,
    }, status)


async def appointment_page(request: Request) -> Response:
    await limit(request, "token")
    page = await request_link.page_of(request) or await waitlist_pages.page_of(request)
    if page is not None:
        return page
    try:
        async with ctx(request).db.transaction() as session:
            view = await _open_view(request, session)
            case = await citizen_case_view(session, view.reference, translator(request))
            status_view = await citizen_status_view(session, view.reference, translator(request),
                                                    request.query_params.get("feedback", ""))
    except LinkInvalid:
        return _invalid(request)
    return _show(request, view, case=case, status_view=status_view)


async def _act(request: Request, action: str) -> Response:
    """Run one change (confirm/cancel) in a write transaction, then show the page again."""
    await read_form(request)
    await limit(request, "token")
    state = ctx(request)
    if action == "confirm" and (confirmed := await request_link.confirm_of(request)):
        return confirmed
    try:
        async with state.db.transaction(write=True) as session:
            appointment, _, _ = await _open(request, session)
            if action == "confirm":
                await booking.confirm(session, policy_from(state.settings), appointment)
            else:
                await booking.cancel(session, appointment, Actor.citizen())
    except LinkInvalid:
        return _invalid(request)
    except Conflict as exc:
        return await _show_error(request, exc)
    done = "confirmed" if action == "confirm" else "cancelled"
    return redirect(f"{_base(request)}?done={done}")


async def _show_error(request: Request, exc: DomainError) -> Response:
    message = translator(request).gettext(exc.msgid, **exc.params)
    try:
        async with ctx(request).db.transaction() as session:
            view = await _open_view(request, session)
            case = await citizen_case_view(session, view.reference, translator(request))
            status_view = await citizen_status_view(session, view.reference, translator(request))
    except LinkInvalid:
        return _invalid(request)
    return _show(request, view, error=message, status=exc.status, case=case,
                 status_view=status_view)


async def confirm(request: Request) -> Response:
    return await _act(request, "confirm")


async def cancel(request: Request) -> Response:
    return await _act(request, "cancel")


async def cancel_page(request: Request) -> Response:
    """The "really cancel?" step: a page with the POST button (a GET cancels nothing)."""
    await limit(request, "token")
    try:
        async with ctx(request).db.transaction() as session:
            view = await _open_view(request, session)
    except LinkInvalid:
        return _invalid(request)
    if not view.can_cancel:
        return redirect(_base(request))
    return render(request, "citizen/cancel.html", {"appointment": view, "base": _base(request)})


async def _reschedule_context(
    request: Request, session: AsyncSession, appointment: Appointment, office: Office,
    service: Service, choice: Choice,
) -> tuple[str, dict[str, Any], int]:
    """The day list, or the times of the chosen day, for moving the appointment."""
    t = translator(request)
    assert office.id is not None and service.id is not None
    base = _base(request)
    context: dict[str, Any] = {
        "appointment": _view(request, appointment, office, service), "base": base,
        "reschedule": True, "steps": [], "zone_note": zone_note(t, office),
        "switch_url": f"{base}/reschedule",
    }
    # The same length as booked: every service and person (app/pages/party_form.py); a move
    # keeps the channel, and its seats.
    channel = appointment.channel
    composition = (await party_of(session, appointment)).composition()
    days = await party.days_for(session, composition, office, channel)
    if choice.day is not None and choice.day in days:
        slots = await party.slots_for(session, composition, office, choice.day, channel)
        if slots:
            context.update({
                "error": "", "day_text": t.date(choice.day, "full"),
                "groups": slot_groups(t, slots, office), "selected": None,
                "back_href": f"{base}/reschedule", "form_action": f"{base}/reschedule",
                "form_method": "post", "hidden": {"day": choice.day.isoformat()},
                "step_field": "",
            })
            return "citizen/book_slot.html", context, 200
    listing, status = day_list(t, choice, days, office_today(office),
                               lambda day: f"{base}/reschedule?from={day.isoformat()}")
    context.update({
        **listing, "back_href": base, "form_action": f"{base}/reschedule",
        "form_method": "get", "hidden": {}, "step_field": "day",
    })
    return "citizen/book_day.html", context, status


async def reschedule_page(request: Request) -> Response:
    await limit(request, "token")
    choice = Choice.from_params(request.query_params)
    try:
        async with ctx(request).db.transaction() as session:
            appointment, office, service = await _open(request, session)
            view = _view(request, appointment, office, service)
            if not view.can_reschedule:
                return redirect(_base(request))
            name, context, status = await _reschedule_context(
                request, session, appointment, office, service, choice)
    except LinkInvalid:
        return _invalid(request)
    return render(request, name, context, status)


async def reschedule(request: Request) -> Response:
    form = await read_form(request)
    await limit(request, "token")
    state = ctx(request)
    t = translator(request)
    new_start = parse_slot(form.get("slot"))
    try:
        if new_start is not None:
            async with state.db.transaction(write=True) as session:
                appointment, _, _ = await _open(request, session)
                await booking.reschedule(session, policy_from(state.settings), appointment,
                                         new_start)
            return redirect(f"{_base(request)}?done=rescheduled")
        error, status = t.gettext("Choose a time."), 422
    except LinkInvalid:
        return _invalid(request)
    except SlotTaken as exc:
        error, status = t.gettext(
            "Sorry, this time has just been booked by someone else. Please choose another time."
        ), exc.status
    except NotASlot as exc:
        error, status = t.gettext(
            "Sorry, this time is no longer free. Please choose another time."), exc.status
    except Conflict as exc:
        return await _show_error(request, exc)
    # Show the same day's times again (or the days, when that day is now full).
    choice = Choice.from_params({"day": form.get("day", "")})
    try:
        async with state.db.transaction() as session:
            appointment, office, service = await _open(request, session)
            if new_start is not None:
                choice.day = local_day(new_start, office)
            name, context, _ = await _reschedule_context(
                request, session, appointment, office, service, choice)
    except LinkInvalid:
        return _invalid(request)
    context["error"] = error
    return render(request, name, context, status)


async def calendar(request: Request) -> Response:
    """Download the appointment as an .ics file (a GET that only reads)."""
    await limit(request, "token")
    try:
        async with ctx(request).db.transaction() as session:
            appointment, office, service = await _open(request, session)
            return await calendar_response(request, appointment, office, service,
                                           token=request.path_params["token"],
                                           lang=translator(request).lang)
    except LinkInvalid:
        return _invalid(request)


routes: list[BaseRoute] = [
    Route("/t/{token}", appointment_page, methods=["GET"]),
    Route("/t/{token}/confirm", confirm, methods=["POST"]),
    Route("/t/{token}/cancel", cancel_page, methods=["GET"]),
    Route("/t/{token}/cancel", cancel, methods=["POST"]),
    Route("/t/{token}/reschedule", reschedule_page, methods=["GET"]),
    Route("/t/{token}/reschedule", reschedule, methods=["POST"]),
    Route("/t/{token}/calendar.ics", calendar, methods=["GET"]),
]
