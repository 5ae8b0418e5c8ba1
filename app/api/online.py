"""Online services for citizens (CONTRACT "Online services"): the offered services, sending a
request, and the request's link (``/api/v1/me...`` with the link token, as for appointments:
status, messages, documents, withdrawing, and the video appointment the office asked for).

The link endpoints shared with appointments (``GET /api/v1/me``, ``POST /api/v1/me/confirm``)
ask ``request_of_link`` first and fall back to the appointment's handlers.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import online_schemas as s
from app.api.case_schemas import citizen_case_out
from app.api.citizen_docs import DocumentUnavailable
from app.api.http import bearer_token, client_key, read_json, read_json_later, validate
from app.api.links import policy_from, request_policy
from app.api.milestone_views import case_milestones_out
from app.api.openapi import operation
from app.api.schemas import ServicesQuery, booking_out, iso
from app.context import AppContext, ctx
from app.templating import request_language
from booking.catalog import load_office
from booking.models import Office, Service
from booking.service import CitizenInput
from cases.completion import case_items
from cases.models import CaseState
from core.errors import NotFound, WrongState
from online import catalogue
from online import requests as online
from online.models import RequestStatus
from online.requests import Held
from postcall import rejection as postcall_rejection
from postcall.notices import LetterUnavailable

ERRORS: dict[int, Any] = {401: None, 429: None}


# --- public ------------------------------------------------------------------------------------


@operation("Online services (requests without an appointment)", tag="public",
           query=ServicesQuery, responses={200: list[s.PublicOnlineServiceOut], 422: None})
async def list_online_services(request: Request) -> Response:
    query = validate(ServicesQuery, dict(request.query_params))
    lang = request_language(request)
    async with ctx(request).db.transaction() as session:
        if query.office_id is not None:
            await load_office(session, query.office_id)
        found = await catalogue.online_services(session, offered_only=True,
                                                office_id=query.office_id)
    return JSONResponse([s.public_service_out(o, lang) for o in found])


@operation("Send a request without an appointment", tag="public", request=s.RequestIn,
           responses={201: s.RequestCreated, 400: None, 404: None, 409: None, 413: None,
                      422: None, 429: None})
async def create_request(request: Request) -> Response:
    """The answers are checked against the service's form (errors per field in `details`);
    documents are uploaded afterwards with the link's token (`POST /api/v1/me/documents`).
    The link reaches the citizen only by e-mail (that is what confirms the address)."""
    state = ctx(request)
    await state.limiter.hit("request", client_key(request))
    body = await read_json(request, s.RequestIn)
    citizen = CitizenInput(given_name=body.citizen.given_name,
                           family_name=body.citizen.family_name, email=body.citizen.email,
                           phone=body.citizen.phone, date_of_birth=body.citizen.date_of_birth)
    async with state.db.transaction(write=True) as session:
        sent = await online.submit(
            session, state.links, request_policy(state.settings), service_id=body.service_id,
            office_id=body.office_id, citizen=citizen, answers=body.answers,
            locale=body.locale or request_language(request))
        out = {"reference": sent.case.reference, "status": sent.request.status}
    return JSONResponse(out, status_code=201)


# --- the request's link ------------------------------------------------------------------------


async def link_token(request: Request) -> tuple[AppContext, str]:
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    return state, bearer_token(request)


async def request_of_link(session: AsyncSession, state: AppContext, token: str) -> Held | None:
    return await online.find_by_token(session, state.links, request_policy(state.settings), token)


async def held_of(session: AsyncSession, state: AppContext, token: str) -> Held:
    held = await request_of_link(session, state, token)
    if held is None:
        raise NotFound("This link belongs to an appointment, not to an online request.")
    return held


async def request_view(session: AsyncSession, state: AppContext, held: Held,
                       lang: str) -> dict[str, Any]:
    """The request as its citizen sees it (``GET /api/v1/me`` for a request)."""
    case, request = held.case, held.request
    assert case.id is not None
    service = await session.get(Service, case.service_id)
    office = await session.get(Office, case.office_id)
    if service is None or office is None:
        raise NotFound()
    tz = ZoneInfo(office.timezone)
    offered = await catalogue.online_service(session, case.service_id)
    service_out, office_out = s.names_out(service, office, lang)
    messages = await online.messages_of(session, case.id)
    wanted = next((m.requested_keys() for m in reversed(messages) if m.author == "office"), [])
    decided = None
    if case.state == CaseState.completed:
        decided = citizen_case_out(case, await case_items(session, case.id), lang)
    milestones = await case_milestones_out(session, case, state.i18n.translator(lang),
                                           office.timezone)
    body = {
        "reference": case.reference, "kind": "request", "status": request.status,
        "service": service_out, "office": office_out,
        "answers": s.answers_out(offered.fields, request, lang),
        "documents": [s.document_out(d, tz) for d in await online.documents_of(session, case.id)],
        "messages": [s.message_out(m, tz) for m in messages],
        "documents_requested": wanted if request.status == "waiting_for_citizen" else [],
        "case": decided, "milestones": milestones,
        "submitted_at": iso(request.submitted_at, tz), "due_at": s.when(request.due_at, tz),
        "video_invited": request.video_invited_at is not None,
        "rejection_reason": request.rejection_reason or None,
    }
    return body


async def me_request(request: Request, state: AppContext, token: str) -> Response | None:
    """``GET /api/v1/me`` when the link is a request's; None for an appointment's."""
    async with state.db.transaction() as session:
        held = await request_of_link(session, state, token)
        if held is None:
            return None
        return JSONResponse(await request_view(session, state, held, request_language(request)))


async def confirm_request(request: Request, state: AppContext, token: str) -> Response | None:
    """``POST /api/v1/me/confirm`` for a request (double opt-in); None for an appointment."""
    async with state.db.transaction(write=True) as session:
        held = await request_of_link(session, state, token)
        if held is None:
            return None
        await online.confirm(session, request_policy(state.settings), held)
        body = await request_view(session, state, held, request_language(request))
    return JSONResponse(body)


@operation("Write to the office about my request", tag="citizen", auth="citizen",
           request=s.MessageIn, responses={201: s.MessageOut, 404: None, 409: None, 422: None,
                                          **ERRORS})
async def post_message(request: Request) -> Response:
    state, token = await link_token(request)
    body = await read_json_later(request, s.MessageIn)
    async with state.db.transaction(write=True) as session:
        held = await held_of(session, state, token)
        message = await online.citizen_message(session, held, body.value().text)
        office = await session.get(Office, held.case.office_id)
        out = s.message_out(message, ZoneInfo(office.timezone if office else "UTC"))
    return JSONResponse(out, status_code=201)


@operation("Withdraw my request (until it is decided)", tag="citizen", auth="citizen",
           responses={200: s.RequestMeOut, 404: None, 409: None, **ERRORS})
async def withdraw(request: Request) -> Response:
    state, token = await link_token(request)
    async with state.db.transaction(write=True) as session:
        held = await held_of(session, state, token)
        await online.withdraw(session, held)
        body = await request_view(session, state, held, request_language(request))
    return JSONResponse(body)


@operation("Book the video appointment the office asked for (identity check)", tag="citizen",
           auth="citizen", request=s.VideoBookingIn,
           responses={201: None, 404: None, 409: None, 422: None, **ERRORS})
async def book_video(request: Request) -> Response:
    """Only after the office's invitation (`invite-video`); the appointment is confirmed at
    once, belongs to this request and has the request's citizen and office. Its own link (for
    the call) comes by e-mail and is on the request's page."""
    state, token = await link_token(request)
    await state.limiter.hit("booking", client_key(request))
    body = await read_json_later(request, s.VideoBookingIn)
    async with state.db.transaction(write=True) as session:
        held = await held_of(session, state, token)
        booked = await online.book_identity_call(session, state.links,
                                                 policy_from(state.settings), held,
                                                 body.value().start)
        out = booking_out(booked.appointment, booked.office_timezone)
    return JSONResponse(out, status_code=201)


@operation("The rejection notice of my request as PDF", tag="citizen", auth="citizen",
           responses={200: "application/pdf", 404: None, 409: None, **ERRORS})
async def rejection_notice(request: Request) -> Response:
    """Only for a rejected request (409 otherwise); the same notice the e-mail carried."""
    state, token = await link_token(request)
    async with state.db.transaction() as session:
        held = await held_of(session, state, token)
        if held.request.status != RequestStatus.rejected:
            raise WrongState("This request has not been rejected.")
        try:
            pdf = await postcall_rejection.rejection_notice(
                session, held.case, online.rejection_of(held.request))
        except LetterUnavailable as exc:
            raise DocumentUnavailable() from exc
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition":
            f'inline; filename="Ablehnungsbescheid-{held.case.reference}.pdf"',
        "Cache-Control": "private, no-store"})


routes: list[BaseRoute] = [
    Route("/api/v1/online-services", list_online_services, methods=["GET"]),
    Route("/api/v1/requests", create_request, methods=["POST"]),
    Route("/api/v1/me/messages", post_message, methods=["POST"]),
    Route("/api/v1/me/withdraw", withdraw, methods=["POST"]),
    Route("/api/v1/me/video-appointment", book_video, methods=["POST"]),
    Route("/api/v1/me/rejection-notice.pdf", rejection_notice, methods=["GET"]),
]
