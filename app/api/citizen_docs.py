"""After the call, for the citizen: the fee notice and receipt as PDF, feedback, and the public
status lookup; for admins the feedback results.

* ``GET /api/v1/me/fee-notice.pdf`` serves the case's current fee document: its fee notice (the
  latest, so a changed notice after a refund replaces the first), or for a case paid online its
  receipt. 404 ``no_document`` before completion and when there is none (free of charge, online
  payment not made yet). The same stored bytes every time.
* ``GET /api/v1/me/receipt.pdf`` the receipt of an online payment only.
* ``POST /api/v1/status`` the public lookup by case number and date of birth (POST keeps the
  date of birth out of URLs and access logs); a mismatch of any kind is the same 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import postcall_schemas as s
from app.api.http import bearer_token, client_key, read_json, read_json_later, validate
from app.api.links import open_link
from app.api.milestone_views import milestones_out
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import AppContext, ctx
from app.templating import request_language
from booking.models import Appointment
from booking.service import find_by_token
from calls.models import CallEvent
from cases.models import Case, Payment, PaymentStatus
from cases.status_lookup import StatusAnswer, StatusNotFound, lookup, normalize_case_number
from core.errors import Conflict, NotFound, RateLimited
from online.models import RequestStatus
from online.requests import request_status
from postcall import feedback as feedbacks
from postcall.dispatch_models import CaseDocument, DocumentKind
from postcall.notices import (
    LetterUnavailable,
    ensure_fee_notice,
    ensure_receipt,
    latest_document,
    needs_notice,
    served_document,
)

ERRORS = {401: None, 429: None}


class NoDocument(NotFound):
    code = "no_document"
    message = "There is no document for this appointment yet."


class DocumentUnavailable(Conflict):
    code = "document_unavailable"
    message = "The document cannot be issued at the moment. Please try again later."


async def _citizen(request: Request) -> tuple[AppContext, str]:
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    return state, bearer_token(request)


async def citizen_case(state: AppContext, token: str) -> Case:
    """The completed case of the link (an appointment's or an online request's)."""
    async with state.db.transaction() as session:
        link = await open_link(session, state, token)
    if link.completed is None:
        raise NoDocument()
    return link.completed


async def fee_document(state: AppContext, case: Case) -> CaseDocument:
    """The current fee notice (made now if the worker has not yet), or the receipt."""
    assert case.id is not None
    try:
        async with state.db.transaction() as session:
            document = await served_document(session, case)
        if document is None and needs_notice(case):
            document = await ensure_fee_notice(state.db, case.id)
        if document is None and case.payment == Payment.online \
                and case.payment_status == PaymentStatus.paid:
            document = await ensure_receipt(state.db, case.id)
    except LetterUnavailable as exc:
        raise DocumentUnavailable() from exc
    if document is None:
        raise NoDocument()
    return document


async def receipt_document(state: AppContext, case: Case) -> CaseDocument:
    assert case.id is not None
    async with state.db.transaction() as session:
        document = await latest_document(session, case.id, (DocumentKind.receipt,))
    try:
        document = document or await ensure_receipt(state.db, case.id)
    except LetterUnavailable as exc:
        raise DocumentUnavailable() from exc
    if document is None:
        raise NoDocument()
    return document


def pdf_response(document: CaseDocument, case_number: str) -> Response:
    titles = {DocumentKind.receipt: "Zahlungsbestaetigung"}
    title = titles.get(DocumentKind(document.kind),
                       "Geaenderter-Bescheid" if document.corrected else "Gebuehrenbescheid")
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in case_number)
    return Response(document.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{title}-{safe}.pdf"',
        "Cache-Control": "private, no-store",
        "ETag": f'"{document.sha256}"',
    })


async def _citizen_pdf(
    request: Request, document: Callable[[AppContext, Case], Awaitable[CaseDocument]]
) -> Response:
    state, token = await _citizen(request)
    case = await citizen_case(state, token)
    return pdf_response(await document(state, case), case.number)


PDF_RESPONSES: dict[int, Any] = {200: "application/pdf", 404: None, 409: None, **ERRORS}


@operation("My fee notice as PDF (a receipt when paid online)", tag="citizen", auth="citizen",
           responses=PDF_RESPONSES)
async def fee_notice(request: Request) -> Response:
    return await _citizen_pdf(request, fee_document)


@operation("My receipt of an online payment as PDF", tag="citizen", auth="citizen",
           responses=PDF_RESPONSES)
async def receipt(request: Request) -> Response:
    return await _citizen_pdf(request, receipt_document)


# --- feedback ------------------------------------------------------------------------------


async def call_over(session: AsyncSession, appointment_id: int) -> bool:
    """The call has ended (the clerk ended it) though the request is not completed yet."""
    query = select(col(CallEvent.id)).where(col(CallEvent.appointment_id) == appointment_id,
                                           col(CallEvent.event) == "ended")
    return (await session.execute(query)).first() is not None


async def feedback_state(session: AsyncSession, appointment: Appointment) -> dict[str, object]:
    assert appointment.id is not None
    given = await feedbacks.feedback_of(session, appointment.id)
    over = await call_over(session, appointment.id)
    return s.FeedbackOut(
        open=given is None and feedbacks.feedback_open(appointment, call_over=over),
        given=given is not None,
        rating=given.rating if given else None, comment=given.comment if given else None,
        created_at=given.created_at.isoformat() if given else None,
    ).model_dump()


@operation(
    "Whether I can give feedback, and what I gave", tag="citizen", auth="citizen",
    responses={200: s.FeedbackOut, **ERRORS},
)
async def get_feedback(request: Request) -> Response:
    state, token = await _citizen(request)
    async with state.db.transaction() as session:
        appointment = await find_by_token(session, state.links, token)
        return JSONResponse(await feedback_state(session, appointment))


@operation(
    "Rate the video appointment (1–5) with an optional comment, once", tag="citizen",
    auth="citizen", request=s.FeedbackIn,
    responses={201: s.FeedbackOut, 400: None, 409: None, 413: None, 422: None, **ERRORS},
)
async def post_feedback(request: Request) -> Response:
    """409 `feedback_not_open` before the call is over, `feedback_given` the second time."""
    state, token = await _citizen(request)
    deferred = await read_json_later(request, s.FeedbackIn)
    async with state.db.transaction(write=True) as session:
        appointment = await find_by_token(session, state.links, token)
        body = deferred.value()
        assert appointment.id is not None
        over = await call_over(session, appointment.id)
        await feedbacks.give_feedback(session, appointment, body.rating, body.comment,
                                      call_over=over)
        out = await feedback_state(session, appointment)
    return JSONResponse(out, status_code=201)


# --- public status lookup ----------------------------------------------------------------------


def case_key(case_number: str) -> str:
    # The per-number limit is keyed by a hash: no case number sits in the limiter's store.
    return hashlib.sha256(normalize_case_number(case_number).encode()).hexdigest()[:32]


async def guarded_lookup(state: AppContext, request: Request, case_number: str,
                         date_of_birth: date) -> StatusAnswer:
    """The lookup behind its limits. Every attempt counts for the client (``status_lookup``).
    Wrong attempts also count for the client *and* the case number (``status_lookup_case``,
    windows of a minute, an hour and a day, so guessing a date of birth takes ever longer);
    once over, that client is refused for that number even with the right date. Nobody else's
    attempts count for a citizen: no one can lock a citizen out."""
    who = client_key(request)
    await state.limiter.hit("status_lookup", who)
    pair = f"{who}|{case_key(case_number)}"
    if not await state.limiter.test("status_lookup_case", pair):
        raise RateLimited()
    async with state.db.transaction() as session:
        try:
            answer = await lookup(session, state.secret_key, case_number, date_of_birth)
            status = await request_status(session, answer.case_id)
            if status == RequestStatus.submitted:  # not the office's yet: as if unknown
                raise StatusNotFound()
            return replace(answer, request_status=status)
        except StatusNotFound:
            await state.limiter.count("status_lookup_case", pair)
            raise


async def status_answer(state: AppContext, request: Request,
                        data: s.StatusLookupIn) -> dict[str, object]:
    answer = await guarded_lookup(state, request, data.case_number, data.date_of_birth)
    t = state.i18n.translator(request_language(request))
    return s.StatusLookupOut(
        case_number=answer.case_number, reference=answer.reference,
        request_status=answer.request_status, payment_status=answer.payment_status,
        dispatch_status=answer.dispatch_status, delivery=answer.delivery,
        external_authority=answer.external_authority or None,
        milestones=[s.MilestoneOut(**m) for m in milestones_out(t, answer.milestones,
                                                                answer.timezone)],
    ).model_dump()


@operation(
    "How my request stands, by case number and date of birth (no link needed)", tag="public",
    request=s.StatusLookupIn,
    responses={200: s.StatusLookupOut, 400: None, 404: None, 413: None, 422: None, 429: None},
)
async def status(request: Request) -> Response:
    """A wrong case number, a wrong date of birth, or a case without one all give the same
    404 `status_not_found`: the answer tells nothing about which it was. Rate-limited per
    client and per case number."""
    state = ctx(request)
    data = await read_json(request, s.StatusLookupIn)
    return JSONResponse(await status_answer(state, request, data))


# --- admin ---------------------------------------------------------------------------------


@operation(
    "Feedback per office and month: count, average, distribution and comments", tag="admin",
    auth="admin", query=s.FeedbackQuery,
    responses={200: list[s.FeedbackMonthOut], 401: None, 403: None, 422: None},
)
async def feedback_results(request: Request) -> Response:
    await require_api_user(request, role="admin")
    query = validate(s.FeedbackQuery, dict(request.query_params))
    office_ids = [query.office_id] if query.office_id is not None else None
    async with ctx(request).db.transaction() as session:
        months = await feedbacks.results(session, office_ids, query.month)
    return JSONResponse([month_out(m) for m in months])


def month_out(m: feedbacks.MonthResult) -> dict[str, object]:
    tenths = m.average_tenths
    return s.FeedbackMonthOut(
        office_id=m.office_id, office=m.office_name, month=m.month, count=m.count,
        average=f"{tenths // 10}.{tenths % 10}",
        distribution={str(k): v for k, v in m.distribution.items()},
        comments=[s.FeedbackCommentOut(at=at.isoformat(), rating=r, comment=c)
                  for at, r, c in m.comments],
    ).model_dump()


routes: list[BaseRoute] = [
    Route("/api/v1/me/fee-notice.pdf", fee_notice, methods=["GET"]),
    Route("/api/v1/me/receipt.pdf", receipt, methods=["GET"]),
    Route("/api/v1/me/feedback", get_feedback, methods=["GET"]),
    Route("/api/v1/me/feedback", post_feedback, methods=["POST"]),
    Route("/api/v1/status", status, methods=["POST"]),
    Route("/api/v1/admin/feedback", feedback_results, methods=["GET"]),
]
