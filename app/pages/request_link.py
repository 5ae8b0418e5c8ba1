"""The citizen's page of an online request behind the e-mailed link, ``/t/{token}``: status,
answers, documents, messages, withdrawing, and the video appointment the office invited to.

The link of a request and of an appointment look alike; ``citizen_link`` asks ``page_of`` and
``confirm_of`` first and shows the appointment page when they answer None. As there, every GET
only reads (mail scanners follow links) and every change is a POST with the CSRF token, the
page shown again with a notice (``?done=``) or with the error beside its field; an unknown or
lapsed token gets the friendly "link not valid" page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.links import policy_from, request_policy
from app.context import ctx
from app.pages import request_files
from app.pages.apply_form import chosen, problems_of
from app.pages.citizen_forms import Choice, parse_id, parse_slot
from app.pages.citizen_http import limit, prefer_language
from app.pages.citizen_views import day_list, local_day, slot_groups, zone_note
from app.pages.forms import read_form, read_multipart_form
from app.pages.request_views import request_view, video_booked, wanted_fields
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking.availability import days_ahead, free_slots, office_today
from booking.catalog import service_name
from booking.models import Office, Service
from core.errors import DomainError, NotASlot, NotFound, SlotTaken, Unauthorized
from online import catalogue
from online import requests as online
from online.models import OPEN_STATUSES, FormField, RequestStatus
from online.requests import Held
from postcall.notices import LetterUnavailable
from postcall.rejection import rejection_notice

DONE_NOTICES = ("confirmed", "message", "uploaded", "withdrawn", "booked")
MESSAGE_FORM_BYTES = 64 * 1024


class LinkInvalid(Exception):
    """The token is a request's, but its link has lapsed."""


def _base(request: Request) -> str:
    return f"/t/{request.path_params['token']}"


def _invalid(request: Request) -> Response:
    return render(request, "citizen/link_invalid.html", {}, 404)


async def _held(request: Request, session: AsyncSession) -> Held | None:
    """The link's request (None: the token is not a request's)."""
    state = ctx(request)
    try:
        held = await online.find_by_token(session, state.links, request_policy(state.settings),
                                          request.path_params["token"])
    except Unauthorized as exc:
        raise LinkInvalid() from exc
    if held is not None:
        prefer_language(request, held.case.locale)
    return held


async def _request(request: Request, session: AsyncSession) -> Held:
    held = await _held(request, session)
    if held is None:
        raise LinkInvalid()
    return held


async def _show(request: Request, *, error: str = "", errors: dict[str, str] | None = None,
                message_text: str = "", status: int = 200) -> Response:
    """The request page (``errors`` beside the message box and the upload inputs)."""
    state = ctx(request)
    try:
        async with state.db.transaction() as session:
            held = await _request(request, session)
            view = await request_view(session, state, translator(request), held, errors=errors)
    except LinkInvalid:
        return _invalid(request)
    done = request.query_params.get("done", "")
    return render(request, "online/request.html", {
        "view": view, "case": view.case, "status": view.status_view, "base": _base(request),
        "done": done if done in DONE_NOTICES and not (error or errors) else "",
        "error": error, "errors": errors or {}, "message_text": message_text,
        "unscanned": not state.settings.clamd_address, "switch_url": _base(request),
    }, status)


def _done(request: Request, notice: str, anchor: str = "") -> Response:
    return redirect(f"{_base(request)}?done={notice}{anchor}")


async def _failed(request: Request, exc: DomainError, **extra: Any) -> Response:
    message = translator(request).gettext(exc.msgid, **exc.params)
    return await _show(request, error=message, status=exc.status, **extra)


# --- entry points from the shared link routes ----------------------------------------------------


async def page_of(request: Request) -> Response | None:
    """``GET /t/{token}`` for a request; None when the token is not a request's."""
    try:
        async with ctx(request).db.transaction() as session:
            if await _held(request, session) is None:
                return None
    except LinkInvalid:
        return _invalid(request)
    return await _show(request)


async def confirm_of(request: Request) -> Response | None:
    """``POST /t/{token}/confirm`` for a request (double opt-in, the form already read); None
    when the token is not a request's."""
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            held = await _held(request, session)
            if held is None:
                return None
            await online.confirm(session, request_policy(state.settings), held)
    except LinkInvalid:
        return _invalid(request)
    except DomainError as exc:
        # Required documents still missing: said beside their upload inputs.
        errors = {name.replace("documents.", "answers.", 1): message
                  for name, message in problems_of(translator(request), exc).items()}
        return await _failed(request, exc, errors=errors)
    return _done(request, "confirmed")


# --- the request's own actions ---------------------------------------------------------------


async def post_message(request: Request) -> Response:
    form = await read_multipart_form(request, max_bytes=MESSAGE_FORM_BYTES, max_files=0,
                                     max_fields=4)
    await limit(request, "token")
    text = form.fields.get("text", "")
    try:
        async with ctx(request).db.transaction(write=True) as session:
            held = await _request(request, session)
            await online.citizen_message(session, held, text)
    except LinkInvalid:
        return _invalid(request)
    except DomainError as exc:
        if exc.field == "text":
            message = translator(request).gettext(exc.msgid, **exc.params)
            return await _show(request, errors={"text": message}, message_text=text,
                               status=exc.status)
        return await _failed(request, exc, message_text=text)
    return _done(request, "message", "#messages")


async def upload(request: Request) -> Response:
    """The documents the office asked for (or required ones still missing before confirming):
    checked and scanned before the write transaction, stored together in it."""
    state = ctx(request)
    t = translator(request)
    await limit(request, "upload")
    try:
        async with state.db.transaction() as session:
            held = await _request(request, session)
            offered = await catalogue.online_service(session, held.case.service_id)
            wanted: list[FormField] | None = await wanted_fields(session, held, offered)
    except LinkInvalid:
        wanted = None
    # The form is read (its token judged) before anything is said about the link or the request.
    form = await read_multipart_form(request, max_files=len(wanted or ()), max_fields=4,
                                     max_bytes=request_files.form_bytes(wanted or []))
    if wanted is None:
        return _invalid(request)
    if not wanted:
        return await _show(request, status=409, error=t.gettext(
            "At the moment there are no documents to upload for this request."))
    uploads = chosen(form, wanted)
    if not uploads:
        return await _show(request, status=422, errors={
            f"answers.{wanted[0].key}": t.gettext("Please choose a file.")})
    prepared, problems = await request_files.prepare(state, offered, uploads)
    if problems:
        return await _show(request, status=max(e.status for e in problems.values()), errors={
            f"answers.{key}": t.gettext(e.msgid, **e.params) for key, e in problems.items()})
    try:
        async with state.db.transaction(write=True) as session:
            held = await _request(request, session)
            await request_files.store(session, state, held, prepared)
    except LinkInvalid:
        return _invalid(request)
    except DomainError as exc:
        return await _failed(request, exc)
    return _done(request, "uploaded", "#documents")


async def download(request: Request) -> Response:
    """A document of this request, as an attachment; another request's is 404 here."""
    await limit(request, "token")
    state = ctx(request)
    document_id = parse_id(request.path_params["id"])
    try:
        async with state.db.transaction() as session:
            held = await _request(request, session)
            if document_id is None:
                raise NotFound()
            return await request_files.download(session, state, held, document_id)
    except LinkInvalid:
        return _invalid(request)


async def rejection_download(request: Request) -> Response:
    """The rejection notice of a refused request (the one its e-mail carried), as a PDF."""
    await limit(request, "token")
    try:
        async with ctx(request).db.transaction() as session:
            held = await _request(request, session)
            if held.request.status != RequestStatus.rejected:
                return redirect(_base(request))
            pdf = await rejection_notice(session, held.case, online.rejection_of(held.request))
    except LinkInvalid:
        return _invalid(request)
    except LetterUnavailable:  # no letterhead yet: the page says what the e-mail brought
        return redirect(_base(request))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="Ablehnungsbescheid-{held.case.reference}.pdf"',
        "Cache-Control": "private, no-store"})


async def withdraw_page(request: Request) -> Response:
    """The "really withdraw?" step: a page with the POST button (a GET withdraws nothing)."""
    await limit(request, "token")
    try:
        async with ctx(request).db.transaction() as session:
            held = await _request(request, session)
            view = await request_view(session, ctx(request), translator(request), held)
    except LinkInvalid:
        return _invalid(request)
    if not view.can_withdraw:
        return redirect(_base(request))
    return render(request, "online/withdraw.html", {"view": view, "base": _base(request)})


async def withdraw(request: Request) -> Response:
    await read_form(request)
    await limit(request, "token")
    try:
        async with ctx(request).db.transaction(write=True) as session:
            await online.withdraw(session, await _request(request, session))
    except LinkInvalid:
        return _invalid(request)
    except DomainError as exc:
        return await _failed(request, exc)
    return _done(request, "withdrawn")


# --- the video appointment the office invited to -----------------------------------------------


async def _video_step(request: Request, session: AsyncSession, held: Held,
                      choice: Choice) -> tuple[str, dict[str, Any], int] | None:
    """The free days, or the chosen day's times, of the invitation's video service at the
    request's office; None when there is nothing to book (not invited, closed)."""
    offered = await catalogue.online_service(session, held.case.service_id)
    video_id = offered.online.video_service_id
    assert held.case.id is not None
    if (held.request.video_invited_at is None or video_id is None
            or held.request.status not in OPEN_STATUSES
            or await video_booked(session, held.case.id)):
        return None
    office = await session.get(Office, held.case.office_id)
    service = await session.get(Service, video_id)
    if office is None or service is None or office.id is None:
        return None
    t = translator(request)
    base = _base(request)
    action = f"{base}/video-appointment"
    context: dict[str, Any] = {"steps": [], "reschedule": False, "zone_note": zone_note(t, office),
                               "service_name": service_name(service, t.lang),
                               "switch_url": action, "form_action": action}
    days = await days_ahead(session, service_id=video_id, office=office)
    if choice.day is not None and choice.day in days:
        slots = await free_slots(session, service_id=video_id, office_id=office.id,
                                 start_date=choice.day, end_date=choice.day)
        if slots:
            context.update({
                "error": "", "day_text": t.date(choice.day, "full"),
                "groups": slot_groups(t, slots, office), "selected": None,
                "back_href": action, "form_method": "post", "step_field": "",
                "hidden": {"day": choice.day.isoformat()},
                "submit_label": t.gettext("Book this time"),
            })
            return "citizen/book_slot.html", context, 200
    listing, status = day_list(t, choice, days, office_today(office),
                               lambda day: f"{action}?from={day.isoformat()}")
    context.update({**listing, "back_href": f"{base}#video", "form_method": "get",
                    "hidden": {}, "step_field": "day"})
    return "citizen/book_day.html", context, status


async def video_page(request: Request) -> Response:
    await limit(request, "availability")
    choice = Choice.from_params(request.query_params)
    try:
        async with ctx(request).db.transaction() as session:
            step = await _video_step(request, session, await _request(request, session), choice)
    except LinkInvalid:
        return _invalid(request)
    if step is None:
        return redirect(_base(request))
    return render(request, *step)


async def book_video(request: Request) -> Response:
    form = await read_form(request)
    await limit(request, "token")
    await limit(request, "booking")
    state = ctx(request)
    t = translator(request)
    start = parse_slot(form.get("slot"))
    choice = Choice.from_params({"day": form.get("day", "")})
    try:
        if start is not None:
            async with state.db.transaction(write=True) as session:
                held = await _request(request, session)
                assert held.case.id is not None
                await online.lock(session, held)  # one booking at a time per request
                if await video_booked(session, held.case.id):
                    return redirect(f"{_base(request)}#video")
                await online.book_identity_call(session, state.links, policy_from(state.settings),
                                                held, start)
            return _done(request, "booked", "#video")
        error, status = t.gettext("Choose a time."), 422
    except LinkInvalid:
        return _invalid(request)
    except SlotTaken as exc:
        error, status = t.gettext("Sorry, this time has just been booked by someone else. "
                                  "Please choose another time."), exc.status
    except NotASlot as exc:
        error, status = t.gettext("Sorry, this time is no longer free. Please choose another "
                                  "time."), exc.status
    except DomainError as exc:
        return await _failed(request, exc)
    try:
        async with state.db.transaction() as session:
            held = await _request(request, session)
            if start is not None:
                office = await session.get(Office, held.case.office_id)
                choice.day = local_day(start, office) if office else choice.day
            step = await _video_step(request, session, held, choice)
    except LinkInvalid:
        return _invalid(request)
    if step is None:
        return redirect(_base(request))
    name, context, _ = step
    context["error"] = error
    return render(request, name, context, status)


routes: list[BaseRoute] = [
    Route("/t/{token}/messages", post_message, methods=["POST"]),
    Route("/t/{token}/documents", upload, methods=["POST"]),
    Route("/t/{token}/documents/{id}", download, methods=["GET"]),
    Route("/t/{token}/rejection-notice.pdf", rejection_download, methods=["GET"]),
    Route("/t/{token}/withdraw", withdraw_page, methods=["GET"]),
    Route("/t/{token}/withdraw", withdraw, methods=["POST"]),
    Route("/t/{token}/video-appointment", video_page, methods=["GET"]),
    Route("/t/{token}/video-appointment", book_video, methods=["POST"]),
]
