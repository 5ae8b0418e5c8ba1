"""The clerk's API for online requests (CONTRACT "Online services", Clerk): the inbox, one
request, asking back, taking up or handing on, completing, rejecting, inviting to a video
appointment for the identity check.

Access as for appointments (``app/api/clerk_cases.py``): any staff account, limited to the
requests of its offices (admins: all); unknown reference 404, another office's 403. Bodies are
read before the write transaction and judged after the access check.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import case_schemas as cs
from app.api import online_schemas as s
from app.api.clerk_cases import case_policy, render_case
from app.api.http import read_json_later, validate
from app.api.openapi import operation
from app.api.schemas import QueryId, iso
from app.auth import require_api_user
from app.context import ctx
from app.templating import request_language
from cases import completion
from cases.identity import applicant_check, identity_checks
from cases.intake import appointments_of
from cases.models import Outcome
from core.errors import Conflict, Invalid, NotFound
from core.types import utcnow
from online import catalogue, inbox
from online import requests as online
from staff.models import StaffUser
from staff.service import get_user

ERRORS: dict[int, Any] = {401: None, 403: None, 404: None}
BODY_ERRORS: dict[int, Any] = {400: None, 409: None, 413: None, 422: None}


class InboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    view: Literal["new", "mine", "waiting", "overdue", "open", "closed", "all"] = "all"
    status: Literal["received", "in_progress", "waiting_for_citizen", "completed", "rejected",
                    "withdrawn", "expired"] | None = None
    office_id: QueryId | None = None
    service_id: QueryId | None = None


def item_out(entry: inbox.Entry, lang: str, now_overdue: bool) -> dict[str, Any]:
    tz = ZoneInfo(entry.office.timezone)
    service, office = s.names_out(entry.service, entry.office, lang)
    request = entry.request
    return {
        "reference": entry.case.reference, "service": service,
        "office": {"id": office["id"], "name": office["name"]}, "status": request.status,
        "submitted_at": iso(request.submitted_at, tz), "due_at": s.when(request.due_at, tz),
        "overdue": now_overdue, "needs_attention": request.needs_attention,
        "assigned_to": request.assigned_label, "citizen": s.citizen_out(entry.case),
    }


def _overdue(entry: inbox.Entry) -> bool:
    due = entry.overdue_at
    return due is not None and due < utcnow()


@operation("The inbox of online requests of my offices", tag="clerk", auth="staff",
           query=InboxQuery, responses={200: list[s.InboxItemOut], 401: None, 403: None,
                                         404: None, 422: None})
async def list_requests(request: Request) -> Response:
    """Views: `new` (nobody took it up), `mine`, `waiting` (for the citizen), `overdue` (past
    the expected processing time), `open`, `closed`, `all`; requests the citizen answered come
    first (`needs_attention`)."""
    user = await require_api_user(request)
    query = validate(InboxQuery, dict(request.query_params))
    lang = request_language(request)
    async with ctx(request).db.transaction() as session:
        entries = await inbox.inbox(session, user, inbox.Filter(
            view=inbox.View(query.view), status=query.status, office_id=query.office_id,
            service_id=query.service_id))
    return JSONResponse([item_out(e, lang, _overdue(e)) for e in entries])


async def request_details(session: AsyncSession, entry: inbox.Entry,
                          lang: str) -> dict[str, Any]:
    """One request as the clerk's screen shows it: answers, documents, messages, identity
    checks, appointments and the case."""
    case, request = entry.case, entry.request
    assert case.id is not None
    tz = ZoneInfo(entry.office.timezone)
    offered = await catalogue.online_service(session, case.service_id)
    checks = await identity_checks(session, case.id)
    latest = applicant_check(checks)
    service, office = s.names_out(entry.service, entry.office, lang)
    decided = await render_case(session, case, entry.office.timezone, lang) \
        if case.state != "open" else None
    return {
        **item_out(entry, lang, _overdue(entry)), "service": service, "office": office,
        "identity": offered.identity,
        "identity_verified": latest is not None and latest.outcome == Outcome.verified,
        "verifications": [cs.verification_out(c, entry.office.timezone) for c in checks],
        "answers": s.answers_out(offered.fields, request, lang),
        "fields": [s.field_out(f) for f in offered.fields],
        "documents": [s.document_out(d, tz) for d in await online.documents_of(session, case.id)],
        "messages": [s.message_out(m, tz) for m in await online.messages_of(session, case.id)],
        "appointments": [{"reference": a.reference, "status": a.status,
                          "start": iso(a.start_at, tz)}
                         for a in await appointments_of(session, case.id)],
        "video_invited": request.video_invited_at is not None,
        "rejection_reason": request.rejection_reason or None,
        "case": decided,
    }


async def _entry(session: AsyncSession, user: StaffUser, request: Request) -> inbox.Entry:
    return await inbox.request_for_staff(session, user, request.path_params["reference"])


async def _answer(request: Request, session: AsyncSession, entry: inbox.Entry,
                  status: int = 200) -> Response:
    await session.refresh(entry.request)
    body = await request_details(session, entry, request_language(request))
    return JSONResponse(body, status_code=status)


@operation("One online request of my offices", tag="clerk", auth="staff",
           responses={200: None, **ERRORS})
async def get_request(request: Request) -> Response:
    user = await require_api_user(request)
    async with ctx(request).db.transaction() as session:
        entry = await _entry(session, user, request)
        return await _answer(request, session, entry)


@operation("Ask the citizen (a message, with the documents still needed)", tag="clerk",
           auth="staff", request=s.ClerkMessageIn, responses={200: None, **ERRORS,
                                                              **BODY_ERRORS})
async def post_message(request: Request) -> Response:
    """The request then waits for the citizen (`waiting_for_citizen`), who gets an e-mail."""
    user = await require_api_user(request)
    body = await read_json_later(request, s.ClerkMessageIn)
    async with ctx(request).db.transaction(write=True) as session:
        entry = await _entry(session, user, request)
        data = body.value()
        await inbox.ask(session, entry, user, data.text, data.documents_requested)
        return await _answer(request, session, entry)


@operation("Take the request up, or hand it to a clerk of its office", tag="clerk",
           auth="staff", request=s.AssignIn, responses={200: None, **ERRORS, **BODY_ERRORS})
async def assign(request: Request) -> Response:
    user = await require_api_user(request)
    body = await read_json_later(request, s.AssignIn, optional=True)
    async with ctx(request).db.transaction(write=True) as session:
        entry = await _entry(session, user, request)
        staff_id = body.value().staff_id
        assignee = None
        if staff_id is not None:
            try:
                assignee = await get_user(session, staff_id)
            except NotFound as exc:
                raise Invalid("This person does not work for the request's office.",
                              field="staff_id") from exc
        await inbox.claim(session, entry, user, assignee=assignee)
        return await _answer(request, session, entry)


@operation("Complete the request: fee items, payment and delivery", tag="clerk", auth="staff",
           request=cs.CompletionIn, responses={200: cs.CaseResult, **ERRORS, **BODY_ERRORS})
async def complete(request: Request) -> Response:
    """As `/clerk/appointments/{reference}/complete`. 409 `identity_required` while the
    service needs an identity check by video and none is recorded as verified."""
    user = await require_api_user(request)
    body = await read_json_later(request, cs.CompletionIn)
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            entry = await _entry(session, user, request)
            data = body.value()
            case = await inbox.complete(session, entry, user, completion.CompletionInput(
                items=tuple(completion.ItemInput(i.service_id, i.quantity, i.person)
                            for i in data.items),
                payment=data.payment, delivery=data.delivery,
                external_authority=data.external_authority, note=data.note,
            ), case_policy(state.settings))
            out = {"reference": case.reference, "status": entry.request.status,
                   "case": await render_case(session, case, entry.office.timezone,
                                             request_language(request))}
    except IntegrityError as exc:  # a concurrent completion won (the unique keys hold)
        raise Conflict() from exc
    return JSONResponse(out)


@operation("Reject the request with reasons (a rejection notice goes out)", tag="clerk",
           auth="staff", request=s.RejectIn, responses={200: None, **ERRORS, **BODY_ERRORS})
async def reject(request: Request) -> Response:
    user = await require_api_user(request)
    body = await read_json_later(request, s.RejectIn)
    async with ctx(request).db.transaction(write=True) as session:
        entry = await _entry(session, user, request)
        await inbox.reject(session, entry, user, body.value().reason)
        return await _answer(request, session, entry)


@operation("Invite the citizen to a video appointment for the identity check", tag="clerk",
           auth="staff", responses={200: None, 409: None, **ERRORS})
async def invite_video(request: Request) -> Response:
    user = await require_api_user(request)
    async with ctx(request).db.transaction(write=True) as session:
        entry = await _entry(session, user, request)
        await inbox.invite_video(session, entry, user)
        return await _answer(request, session, entry)


BASE = "/api/v1/clerk/requests"
routes: list[BaseRoute] = [
    Route(BASE, list_requests, methods=["GET"]),
    Route(BASE + "/{reference}", get_request, methods=["GET"]),
    Route(BASE + "/{reference}/messages", post_message, methods=["POST"]),
    Route(BASE + "/{reference}/assign", assign, methods=["POST"]),
    Route(BASE + "/{reference}/complete", complete, methods=["POST"]),
    Route(BASE + "/{reference}/reject", reject, methods=["POST"]),
    Route(BASE + "/{reference}/invite-video", invite_video, methods=["POST"]),
]
