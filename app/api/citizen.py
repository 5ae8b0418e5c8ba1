"""The citizen's API, authorised by the link token (CONTRACT §3 "Citizen").

The token travels in ``Authorization: Bearer``, never in a path or query, so it cannot appear
in an access log. Every endpoint counts against the per-IP "token" rate limit before the token
is even looked at: probing for tokens is slow as well as hopeless (256 bits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.case_schemas import citizen_case_out
from app.api.http import bearer_token, client_key, read_json_later
from app.api.links import NotAnAppointment, policy_from
from app.api.milestone_views import case_milestones_out
from app.api.online import confirm_request, me_request, request_of_link
from app.api.openapi import operation
from app.api.party import party_out
from app.api.schemas import MeOut, RescheduleIn, me_out
from app.api.waitlist import wish_cancel, wish_me
from app.context import AppContext, ctx
from app.templating import request_language
from booking.composition import party_of
from booking.ics import calendar_download
from booking.models import Appointment, Office, Service
from booking.service import (
    allowed_actions,
    appointment_details,
    cancel,
    confirm,
    find_by_token,
    reschedule,
)
from cases.completion import completed_case
from core.audit import Actor

ERRORS = {401: None, 429: None}


async def _token(request: Request) -> tuple[AppContext, str]:
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    return state, bearer_token(request)


async def _appointment(session: AsyncSession, state: AppContext, token: str) -> Appointment:
    """The link's appointment; 409 ``not_an_appointment`` for an online request's link."""
    if await request_of_link(session, state, token) is not None:
        raise NotAnAppointment()
    return await find_by_token(session, state.links, token)


async def _render(request: Request, session: AsyncSession, appointment: Appointment) -> Response:
    settings = ctx(request).settings
    appointment, office, service = await appointment_details(session, appointment)
    lang = request_language(request)
    assert appointment.id is not None
    found = await completed_case(session, appointment.id)
    case = citizen_case_out(*found, lang) if found is not None else None
    if case is not None and found is not None:
        case["milestones"] = await case_milestones_out(
            session, found[0], ctx(request).i18n.translator(lang), office.timezone)
    body = me_out(
        appointment, office, service,
        lang=lang,
        actions=allowed_actions(appointment),
        join_before_minutes=settings.join_before_minutes,
        join_after_minutes=settings.join_after_minutes,
        case=case,
    )
    body.update(party_out(appointment, await party_of(session, appointment), lang))
    return JSONResponse(body)


@operation("My appointment or my online request", tag="citizen", auth="citizen",
           responses={200: MeOut, **ERRORS})
async def me(request: Request) -> Response:
    """For an online request's link the answer is a request (`"kind": "request"`: status,
    answers, documents, messages, milestones, case)."""
    state, token = await _token(request)
    found = await me_request(request, state, token) or await wish_me(request, state, token)
    if found is not None:
        return found
    async with state.db.transaction() as session:
        appointment = await _appointment(session, state, token)
        return await _render(request, session, appointment)


@operation(
    "Confirm my appointment (double opt-in)", tag="citizen", auth="citizen",
    responses={200: MeOut, 409: None, **ERRORS},
)
async def confirm_me(request: Request) -> Response:
    """An online request's link confirms the request (then `received`); 409
    `documents_missing` while a required document is not uploaded yet."""
    state, token = await _token(request)
    found = await confirm_request(request, state, token)
    if found is not None:
        return found
    return await _change(request, lambda session, state, appointment: confirm(
        session, policy_from(state.settings), appointment))


@operation(
    "Cancel my appointment", tag="citizen", auth="citizen",
    responses={200: MeOut, 409: None, **ERRORS},
)
async def cancel_me(request: Request) -> Response:
    """A waitlist entry's link withdraws the entry (and gives up an open offer)."""
    state, token = await _token(request)
    if (found := await wish_cancel(request, state, token)) is not None:
        return found
    return await _change(request, lambda session, _state, appointment: cancel(
        session, appointment, Actor.citizen()), counted=(state, token))


async def _change(
    request: Request,
    change: Callable[[AsyncSession, AppContext, Appointment], Awaitable[object]],
    counted: tuple[AppContext, str] | None = None,
) -> Response:
    """One change of the link's appointment in a write transaction; answers the new state.
    ``counted``: the rate limit was already counted for this request."""
    state, token = counted or await _token(request)
    async with state.db.transaction(write=True) as session:
        appointment = await _appointment(session, state, token)
        await change(session, state, appointment)
        return await _render(request, session, appointment)


@operation(
    "Move my appointment to another free slot", tag="citizen", auth="citizen",
    request=RescheduleIn,
    responses={200: MeOut, 400: None, 409: None, 413: None, 422: None, **ERRORS},
)
async def reschedule_me(request: Request) -> Response:
    state, token = await _token(request)
    body = await read_json_later(request, RescheduleIn)
    async with state.db.transaction(write=True) as session:
        appointment = await _appointment(session, state, token)
        await reschedule(session, policy_from(state.settings), appointment, body.value().start)
        return await _render(request, session, appointment)


@operation(
    "My appointment as a calendar file", tag="citizen", auth="citizen",
    responses={200: "text/calendar", **ERRORS},
)
async def calendar(request: Request) -> Response:
    state, token = await _token(request)
    async with state.db.transaction() as session:
        appointment = await _appointment(session, state, token)
        appointment, office, service = await appointment_details(session, appointment)
        return await calendar_response(request, appointment, office, service, token=token,
                                       lang=request_language(request))


async def calendar_response(request: Request, appointment: Appointment, office: Office,
                            service: Service, *, token: str, lang: str) -> Response:
    """The appointment as an ``.ics`` download, the same for the API and the link page: the
    current method (a cancelled appointment cancels), the link (on the municipality's host),
    the sender as organizer."""
    state = ctx(request)
    town, base_url = await state.hosts.town(state.db, office.municipality_id,
                                            state.settings.base_url)
    body, filename = calendar_download(
        appointment, office, service, link_url=f"{base_url}/t/{token}", lang=lang,
        mail_from=state.settings.mail_from, town=town,
    )
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
    })


routes: list[BaseRoute] = [
    Route("/api/v1/me", me, methods=["GET"]),
    Route("/api/v1/me/confirm", confirm_me, methods=["POST"]),
    Route("/api/v1/me/cancel", cancel_me, methods=["POST"]),
    Route("/api/v1/me/reschedule", reschedule_me, methods=["POST"]),
    Route("/api/v1/me/calendar.ics", calendar, methods=["GET"]),
]
